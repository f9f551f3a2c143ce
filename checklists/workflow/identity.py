"""A sign-in through the identity provider: find or create the person, make roles follow groups.

Called by checklists/identity/backend.py once the provider's answer is verified and every
network call is over. One transaction: it locks the person's identity row (two sign-ins of one
person queue), then the mapped teams' rows in id order (like workflow/teams.py, NO KEY UPDATE),
and writes one audit event `identity.signed_in` when it created the person or changed a role,
with `before` and `after`; none when nothing changed.

For each team that OIDC_GROUP_ROLES names (docs/identity.md):
- a group that gives a role there makes the membership the provider's (`source` idp), with
  exactly the role and owner role the groups give;
- a membership that came from groups and whose groups are gone is removed;
- a membership added on the team page, with no mapped group behind it, is left alone.
The manager role follows the manager groups the same way (only if a group gave it).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone

from ..models import MANAGERS_GROUP, ExternalIdentity, Membership, Team
from ..policy import group_roles as mapping
from .base import _audit
from .transactions import write_transaction

logger = logging.getLogger(__name__)

USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def _username_for(claims: dict) -> str:
    """A free user name from preferred_username, else the email's local part, else the subject."""
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    for candidate in (claims.get("preferred_username"), email.partition("@")[0], f"user-{claims['sub']}"):
        if isinstance(candidate, str) and (base := USERNAME_UNSAFE.sub("", candidate)[:140]):
            break
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _profile(claims: dict) -> dict[str, str]:
    text = {k: v for k, v in claims.items() if isinstance(v, str)}
    return {
        "email": text.get("email", "")[:254],
        "first_name": text.get("given_name", "")[:150],
        "last_name": text.get("family_name", "")[:150],
    }


def _find_or_create(issuer: str, subject: str, claims: dict) -> tuple[User, ExternalIdentity, str]:
    """(person, identity, how: "known" | "linked" | "created")."""
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if identity is not None:
        return identity.user, identity, "known"
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    # An existing account is linked only by an address the provider vouches for, and only when
    # exactly one active account has it and no other identity of this provider holds it.
    if email and claims.get("email_verified") is True:
        matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
        if len(matches) == 1 and not ExternalIdentity.objects.filter(user=matches[0], issuer=issuer).exists():
            identity = ExternalIdentity.objects.create(user=matches[0], issuer=issuer, subject=subject)
            return matches[0], identity, "linked"
    user = User(username=_username_for(claims), **_profile(claims))
    user.set_unusable_password()  # signs in through the provider only
    user.save()
    identity = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    return user, identity, "created"


def _state(membership: Membership | None) -> dict | None:
    if membership is None:
        return None
    return {"role": membership.role, "owner": membership.owner, "source": membership.source}


def _sync_team(team: Team, user: User, wanted: mapping.TeamRole | None) -> tuple[dict | None, dict | None]:
    """Make one team's membership follow the groups; (before, after) when it changed, else (x, x)."""
    membership = Membership.objects.filter(team=team, user=user).first()
    before = _state(membership)
    if wanted is None:
        if membership is not None and membership.source == Membership.Source.IDENTITY_PROVIDER:
            membership.delete()
            _hand_over_queue(team, user)
            return before, None
        return before, before
    if membership is None:
        membership = Membership(team=team, user=user)
    membership.role, membership.owner = wanted.role, wanted.owner
    membership.source, membership.groups = Membership.Source.IDENTITY_PROVIDER, list(wanted.groups)
    membership.save()
    if not membership.owner:
        _hand_over_queue(team, user)
    return before, _state(membership)


def _hand_over_queue(team: Team, user: User) -> None:
    """The named queue owner is always an owner: when the groups took that away, another owner is named."""
    if team.owner_id != user.pk:
        return
    other = (
        Membership.objects.filter(team=team, owner=True).exclude(user=user).order_by("user__username").first()
    )
    if other is not None:
        team.owner_id = other.user_id
        team.save(update_fields=["owner"])
    else:
        logger.warning("team %s has no owner left after %s's groups changed", team.slug, user.get_username())


def _sync_manager(user: User, identity: ExternalIdentity, wanted: bool) -> tuple[bool, bool]:
    managers, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
    before = user.groups.filter(pk=managers.pk).exists()
    if wanted and not before:
        user.groups.add(managers)
        identity.manager_from_groups = True
    elif not wanted and before and identity.manager_from_groups:
        user.groups.remove(managers)
        identity.manager_from_groups = False
    elif wanted and before and not identity.manager_from_groups:
        pass  # made a manager by staff: the provider did not give it and does not take it
    return before, user.groups.filter(pk=managers.pk).exists()


@write_transaction
def sign_in_from_provider(*, issuer: str, subject: str, claims: dict, groups: list[str]) -> User:
    """The person the provider vouched for, with roles that follow `groups` (audited when they change)."""
    grants = settings.OIDC_GROUP_ROLE_GRANTS
    user, identity, how = _find_or_create(issuer, subject, claims)
    profile = _profile(claims)
    changed_profile = {k: v for k, v in profile.items() if v and getattr(user, k) != v}
    if changed_profile:
        for name, value in changed_profile.items():
            setattr(user, name, value)
        user.save(update_fields=list(changed_profile))
    wanted, manager = mapping.roles_for(groups, grants)
    teams = {
        t.slug: t
        for t in Team.objects.select_for_update(no_key=True)
        .filter(slug__in=mapping.mapped_teams(grants))
        .order_by("pk")
    }
    missing = sorted(set(wanted) - set(teams))
    if missing:
        logger.warning("OIDC_GROUP_ROLES names teams that do not exist (yet): %s", ", ".join(missing))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for slug, team in teams.items():
        old, new = _sync_team(team, user, wanted.get(slug))
        if old != new:
            before[slug], after[slug] = old, new
    manager_before, manager_after = _sync_manager(user, identity, manager)
    if manager_before != manager_after:
        before["manager"], after["manager"] = manager_before, manager_after
    identity.groups = list(groups)
    identity.last_sign_in_at = timezone.now()
    identity.save()
    if how != "known" or after:
        _audit(
            None,
            user,
            "identity.signed_in",
            issuer=issuer,
            subject=subject,
            account=how,
            user=user.get_username(),
            groups=list(groups),
            before=before,
            after=after,
        )
    return user
