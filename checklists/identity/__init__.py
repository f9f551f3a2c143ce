"""Sign-in through the company's OpenID Connect provider (docs/identity.md).

mapping.py reads OIDC_GROUP_ROLES, discovery.py reads the provider's configuration,
backend.py verifies what the provider says (mozilla-django-oidc underneath), views.py starts
and finishes a sign-in; checklists/workflow/identity.py makes a person's roles follow their groups.
"""
