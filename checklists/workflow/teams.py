"""A team's settings, people, reviewer groups, freeze windows and webhooks, changed by its owners.

Every function here:
- refuses through checklists/policy/teams.py (staff, or an owner of the team);
- locks the team row FOR NO KEY UPDATE (changes to one team queue behind each other, while
  releases of the team are still created: their foreign-key checks take KEY SHARE locks,
  which NO KEY UPDATE does not block) and never a release row (docs/reliability.md);
- validates everything before it changes anything (InvalidInput with every field's problem);
- writes exactly one AuditEvent `team.*` whose payload holds `before` and `after`, and none
  when nothing changed.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from ..errors import InvalidInput, NotAllowed, NotFound, TransitionError
from ..git import netguard
from ..models import (
    SLUG_VALIDATOR,
    WEBHOOK_EVENTS,
    Membership,
    Team,
)
from ..policy import teams as team_policy
from .base import FieldErrors, _audit
from .transactions import write_transaction

Role = Membership.Role

MAX_LIST = 50
URL_MAX = 500
GLOB_MAX = 200
LIMITS = {
    "required_approvals": (1, 20),
    "approval_valid_days": (1, 3650),
    "followup_due_working_days": (1, 60),
}
SETTING_FIELDS = (
    "name",
    "required_approvals",
    "approval_valid_days",
    "allow_commit_authors_to_review",
    "followup_due_working_days",
    "production_config_globs",
    "probe_endpoints",
    "probe_public_allowlist",
    "notify_email",
    "notify_events",
)


# --- shared helpers --------------------------------------------------------------------


def _lock_team(team: Team | str | int) -> Team:
    """The team row, locked for this transaction (NO KEY UPDATE: see the module docstring)."""
    found = Team.objects.select_for_update(no_key=True)
    if isinstance(team, Team):
        found = found.filter(pk=team.pk)
    elif isinstance(team, str):
        found = found.filter(slug=team)
    else:
        found = found.filter(pk=team)
    locked = found.first()
    if locked is None:
        raise NotFound("No such team.")
    return locked


def _require_manager(actor: User | None, team: Team) -> None:
    if refusal := team_policy.manage_refusal(actor, team):
        raise refusal


def _team_audit(actor: User | None, verb: str, team: Team, before: Any, after: Any, **extra) -> None:
    _audit(None, actor, verb, team=team.slug, before=before, after=after, **extra)


def find_user(value: User | int | str) -> User:
    """An active account by user name or email address (case-insensitive); InvalidInput otherwise."""
    if isinstance(value, User):
        return value
    found = None
    if isinstance(value, int) and not isinstance(value, bool):
        found = User.objects.filter(pk=value, is_active=True).first()
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        matches = list(
            User.objects.filter(Q(username__iexact=text) | Q(email__iexact=text), is_active=True)[:2]
        )
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise InvalidInput(
            f"No single active account is named {value!r}. People get an account when they first "
            "sign in (or when staff creates one); give their user name or email address.",
            details={
                "user": [
                    "No single active account has this user name or email (people get one at their first sign-in)."
                ]
            },
            code="unknown_user",
        )
    return found


# --- validation of settings ---------------------------------------------------------------


def _int_setting(name: str, value: Any, errors: dict, *, optional: bool = False) -> int | None:
    if optional and value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    low, high = LIMITS[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[name] = [f"A whole number from {low} to {high}{' (or empty)' if optional else ''}."]
        return None
    return value


def _string_list(name: str, value: Any, errors: dict) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors[name] = ["A list of strings (one a line)."]
        return []
    cleaned = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(cleaned) > MAX_LIST:
        errors[name] = [f"At most {MAX_LIST} entries."]
    if any("\x00" in v for v in cleaned):
        errors[name] = ["Must not contain NUL characters."]
    return cleaned


def probe_url_problem(url: str) -> str:
    """Why the auth probe may not be pointed at `url` ('' if it may). No DNS: names only.

    Endpoints are the team's own services, often on a private network or this machine, so
    those are allowed; cloud metadata and link-local addresses never are.
    """
    if len(url) > URL_MAX:
        return f"At most {URL_MAX} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "The URL cannot be read: check its host and port."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "An http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "No credentials in the URL: the probe sends none."
    host = parts.hostname.lower().rstrip(".")
    if host in netguard.METADATA_HOSTS:
        return f"{host} is a cloud metadata host."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ""
    if address in netguard.METADATA_IPS or address.is_link_local:
        return f"{host} is a metadata or link-local address."
    return ""


def clean_settings(team: Team, data: dict) -> dict:
    """Validate the settings in `data` (only those given); raise InvalidInput naming each problem."""
    errors = FieldErrors()
    unknown = set(data) - set(SETTING_FIELDS)
    if unknown:
        errors.update({name: ["Unknown or read-only setting."] for name in sorted(unknown)})
    cleaned: dict[str, Any] = {}
    if "name" in data:
        name = data["name"].strip() if isinstance(data["name"], str) else ""
        if not 1 <= len(name) <= 100:
            errors["name"] = ["A name of 1 to 100 characters."]
        elif Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            errors["name"] = ["Another team has this name."]
        cleaned["name"] = name
    for name in ("required_approvals", "followup_due_working_days"):
        if name in data:
            cleaned[name] = _int_setting(name, data[name], errors)
    if "approval_valid_days" in data:
        cleaned["approval_valid_days"] = _int_setting(
            "approval_valid_days", data["approval_valid_days"], errors, optional=True
        )
    if "allow_commit_authors_to_review" in data:
        if not isinstance(data["allow_commit_authors_to_review"], bool):
            errors["allow_commit_authors_to_review"] = ["true or false."]
        cleaned["allow_commit_authors_to_review"] = data["allow_commit_authors_to_review"] is True
    if "production_config_globs" in data:
        globs = _string_list("production_config_globs", data["production_config_globs"], errors)
        if any(len(g) > GLOB_MAX for g in globs):
            errors["production_config_globs"] = [f"Each pattern at most {GLOB_MAX} characters."]
        cleaned["production_config_globs"] = globs
    if "probe_endpoints" in data:
        urls = _string_list("probe_endpoints", data["probe_endpoints"], errors)
        problems = [f"{url}: {why}" for url in urls if (why := probe_url_problem(url))]
        if problems:
            errors["probe_endpoints"] = problems
        cleaned["probe_endpoints"] = urls
    if "probe_public_allowlist" in data:
        entries = _string_list("probe_public_allowlist", data["probe_public_allowlist"], errors)
        bad = [
            e
            for e in entries
            if len(e) > URL_MAX or not (e.startswith("/") or urlsplit(e).scheme in ("http", "https"))
        ]
        if bad:
            errors["probe_public_allowlist"] = [
                f"{e}: a path starting with / (e.g. /healthz) or a whole http(s) URL." for e in bad
            ]
        cleaned["probe_public_allowlist"] = entries
    if "notify_email" in data:
        email = data["notify_email"].strip() if isinstance(data["notify_email"], str) else None
        if email is None:
            errors["notify_email"] = ["An email address, or empty."]
        elif email:
            try:
                validate_email(email)
            except ValidationError:
                errors["notify_email"] = ["Not a valid email address."]
        cleaned["notify_email"] = email or ""
    if "notify_events" in data:
        events = data["notify_events"]
        if not isinstance(events, list | tuple) or any(e not in WEBHOOK_EVENTS for e in events):
            errors["notify_events"] = [f"Choose from {', '.join(WEBHOOK_EVENTS)}."]
            events = []
        cleaned["notify_events"] = [e for e in WEBHOOK_EVENTS if e in events]
    errors.refuse("Some settings are invalid; nothing was changed.")
    return cleaned


# --- teams and their settings --------------------------------------------------------------


def team_creation_refusal(actor: User | None) -> NotAllowed | None:
    if actor is None:
        return None
    if not actor.is_authenticated:
        return NotAllowed("Sign in first.")
    if settings.RELEASEGATE_TEAM_CREATION == "staff" and not team_policy.is_staff(actor):
        return NotAllowed("On this installation only staff create teams (RELEASEGATE_TEAM_CREATION=staff).")
    return None


@write_transaction
def create_team(*, actor: User | None, name: str, slug: str, owner: User | str | None = None) -> Team:
    """Open a new team; its first owner (the actor unless staff names someone) is also a reviewer."""
    if refusal := team_creation_refusal(actor):
        raise refusal
    errors = FieldErrors()
    name = name.strip() if isinstance(name, str) else ""
    slug = slug.strip().lower() if isinstance(slug, str) else ""
    if not 1 <= len(name) <= 100:
        errors["name"] = ["A name of 1 to 100 characters."]
    elif Team.objects.filter(name__iexact=name).exists():
        errors["name"] = ["A team has this name already."]
    try:
        SLUG_VALIDATOR(slug)
        if not 1 <= len(slug) <= 50:
            raise ValidationError("length")
    except ValidationError:
        errors["slug"] = ["1 to 50 lower-case letters, digits and dashes, starting with a letter or digit."]
    else:
        if Team.objects.filter(slug=slug).exists():
            errors["slug"] = ["A team has this short name already."]
    if owner is not None and actor is not None and not team_policy.is_staff(actor):
        errors["owner"] = ["Only staff open a team for someone else."]
    first_owner = None
    if owner is not None:
        try:
            first_owner = find_user(owner)
        except InvalidInput as exc:
            errors.update({"owner": exc.details["user"]})
    else:
        first_owner = actor
    if first_owner is None and "owner" not in errors:
        errors["owner"] = ["Name the team's first owner."]
    errors.refuse("The team cannot be opened as given.")
    team = Team.objects.create(name=name, slug=slug, owner=first_owner)
    Membership.objects.create(team=team, user=first_owner, role=Role.REVIEWER, owner=True)
    _team_audit(
        actor,
        "team.created",
        team,
        before=None,
        after={"name": name, "slug": slug, "owner": first_owner.get_username()},
    )
    return team


def _setting_value(team: Team, name: str) -> Any:
    return getattr(team, name)


@write_transaction
def update_team_settings(team: Team | str, *, actor: User | None, changes: dict) -> Team:
    """Change the team's rules (approvals, expiry, commit authors, probes, globs, notifications)."""
    team = _lock_team(team)
    _require_manager(actor, team)
    cleaned = clean_settings(team, changes)
    changed = {name: value for name, value in cleaned.items() if _setting_value(team, name) != value}
    if not changed:
        return team
    if (
        changed.get("allow_commit_authors_to_review") is True
        and actor is not None
        and not team_policy.is_staff(actor)
    ):
        # Letting commit authors approve removes the check that keeps a reviewer from approving
        # his own code; a team's owner is often one of its reviewers, so only staff turn it on
        # (owners may turn it off).
        raise NotAllowed(
            "Only staff may let authors of a release's commits approve it; ask an administrator.",
            code="staff_only_setting",
        )
    before = {name: _setting_value(team, name) for name in changed}
    for name, value in changed.items():
        setattr(team, name, value)
    team.save(update_fields=list(changed))
    _team_audit(actor, "team.settings_changed", team, before=before, after=changed)
    return team


# --- people and roles ----------------------------------------------------------------------


def _membership_state(membership: Membership | None) -> dict | None:
    if membership is None:
        return None
    return {"role": membership.role, "owner": membership.owner, "source": membership.source}


def _refuse_if_from_identity_provider(membership: Membership) -> None:
    if membership.source == Membership.Source.IDENTITY_PROVIDER:
        groups = ", ".join(membership.groups) or "a group"
        raise TransitionError(
            f"{membership.user.get_username()}'s place on the team comes from the identity provider "
            f"({groups}) and follows it at every sign-in: change it there.",
            code="managed_by_identity_provider",
        )


def _clean_role(role: Any) -> str:
    if role not in Role.values:
        raise InvalidInput(f"A role is one of {', '.join(Role.values)}.", details={"role": ["Unknown role."]})
    return role


def _next_queue_owner(team: Team, leaving: User) -> User | None:
    other = (
        Membership.objects.filter(team=team, owner=True)
        .exclude(user=leaving)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return other.user if other else None


def _keep_an_owner(team: Team, membership: Membership) -> User | None:
    """Refuse to leave the team without an owner; the queue's named owner moves to another owner.

    Returns the new named owner when it moved, else None.
    """
    if not membership.owner:
        return None
    successor = _next_queue_owner(team, membership.user)
    if successor is None:
        raise TransitionError(
            f"{membership.user.get_username()} is the team's last owner: make someone else an owner first.",
            code="last_owner",
        )
    if team.owner_id == membership.user_id:
        team.owner = successor
        team.save(update_fields=["owner"])
        return successor
    return None


@write_transaction
def add_member(
    team: Team | str, *, actor: User | None, user: User | str, role: str = Role.MEMBER, owner: bool = False
) -> Membership:
    """Put someone on the team with a release role (member or reviewer), perhaps as an owner."""
    team = _lock_team(team)
    _require_manager(actor, team)
    role = _clean_role(role)
    person = find_user(user)
    if Membership.objects.filter(team=team, user=person).exists():
        raise InvalidInput(
            f"{person.get_username()} is on the team already; change their role instead.",
            details={"user": ["Already on the team."]},
            code="already_member",
        )
    membership = Membership.objects.create(team=team, user=person, role=role, owner=bool(owner))
    _team_audit(
        actor,
        "team.member_added",
        team,
        before=None,
        after=_membership_state(membership),
        user=person.get_username(),
    )
    return membership


def _membership(team: Team, user: User | str | int) -> Membership:
    person = find_user(user)
    found = (
        Membership.objects.select_for_update().select_related("user").filter(team=team, user=person).first()
    )
    if found is None:
        raise NotFound(f"{person.get_username()} is not on team {team.slug}.")
    return found


@write_transaction
def change_member(
    team: Team | str,
    *,
    actor: User | None,
    user: User | str | int,
    role: str | None = None,
    owner: bool | None = None,
) -> Membership:
    """Change someone's release role and/or owner role on the team."""
    team = _lock_team(team)
    _require_manager(actor, team)
    membership = _membership(team, user)
    before = _membership_state(membership)
    changes: dict[str, Any] = {}
    if role is not None and _clean_role(role) != membership.role:
        changes["role"] = role
    if owner is not None and bool(owner) != membership.owner:
        changes["owner"] = bool(owner)
    if not changes:
        return membership
    _refuse_if_from_identity_provider(membership)
    extra = {}
    if changes.get("owner") is False and (moved := _keep_an_owner(team, membership)):
        extra["queue_owner"] = moved.get_username()
    for name, value in changes.items():
        setattr(membership, name, value)
    membership.save(update_fields=list(changes))
    _team_audit(
        actor,
        "team.member_changed",
        team,
        before=before,
        after=_membership_state(membership),
        user=membership.user.get_username(),
        **extra,
    )
    return membership


@write_transaction
def remove_member(team: Team | str, *, actor: User | None, user: User | str | int) -> None:
    """Take someone off the team (never its last owner); they keep what they wrote and signed."""
    team = _lock_team(team)
    _require_manager(actor, team)
    membership = _membership(team, user)
    _refuse_if_from_identity_provider(membership)
    before = _membership_state(membership)
    extra = {}
    if moved := _keep_an_owner(team, membership):
        extra["queue_owner"] = moved.get_username()
    username = membership.user.get_username()
    membership.delete()
    _team_audit(actor, "team.member_removed", team, before=before, after=None, user=username, **extra)


@write_transaction
def set_queue_owner(team: Team | str, *, actor: User | None, user: User | str | int) -> Team:
    """Name the owner of the team's exception queue and follow-ups: one of the team's owners."""
    team = _lock_team(team)
    _require_manager(actor, team)
    membership = _membership(team, user)
    if not membership.owner:
        raise InvalidInput(
            f"{membership.user.get_username()} is not an owner of the team; make them one first.",
            details={"user": ["Not an owner."]},
        )
    if team.owner_id == membership.user_id:
        return team
    before = team.owner.get_username()
    team.owner = membership.user
    team.save(update_fields=["owner"])
    _team_audit(actor, "team.queue_owner_changed", team, before=before, after=membership.user.get_username())
    return team
