"""Signing in: through the company's OpenID Connect provider, or with a password (docs/identity.md).

discovery.py reads the provider's configuration, backend.py verifies what the provider says
(mozilla-django-oidc underneath), views.py starts and finishes a sign-in, accounts.py serves
/accounts/ (password reset only where email really leaves the machine). Which groups give which
role is policy (checklists/policy/group_roles.py); checklists/workflow/identity.py makes a
person's roles follow their groups.
"""
