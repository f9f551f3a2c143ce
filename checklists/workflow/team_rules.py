"""A team's rules beyond its settings: waiver follow-ups, reviewer groups, freeze windows, webhooks.

The changes by owners (groups, freezes, webhooks) follow checklists/workflow/teams.py: they
lock the team row FOR NO KEY UPDATE and write one audit event with `before` and `after`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..effects import webhooks
from ..errors import InvalidInput, NotAllowed, NotFound, TransitionError
from ..models import (
    EVIDENCE_MAX,
    SLUG_VALIDATOR,
    FollowUp,
    FreezeWindow,
    Membership,
    ReviewerGroup,
    Team,
    Webhook,
)
from ..policy import permissions
from ..policy import teams as team_policy
from .base import (
    _audit,
    _bump,
    _clean_text,
    _lock,
)
from .teams import _lock_team, _require_manager, _team_audit, find_user
from .transactions import write_transaction

Role = Membership.Role


@write_transaction
def close_followup(followup: FollowUp | int, *, actor: User, evidence: str) -> FollowUp:
    """Close a hotfix waiver's follow-up with evidence that the item is now done (audited)."""
    pk = followup.pk if isinstance(followup, FollowUp) else followup
    release_id = FollowUp.objects.filter(pk=pk).values_list("release_id", flat=True).first()
    if release_id is None:
        raise NotFound("No such follow-up.")
    release = _lock(release_id)  # the release first, like every write (docs/reliability.md)
    found = FollowUp.objects.select_for_update().get(pk=pk)
    if permissions.role_in(actor, found.team_id) is None:
        raise NotAllowed("Only a member of the team may close its follow-ups.")
    if found.closed_at is not None:
        raise TransitionError("This follow-up is closed already.", code="already_closed")
    errors: dict[str, list[str]] = {}
    evidence = _clean_text("evidence", evidence, errors, limit=EVIDENCE_MAX)
    if not errors and not evidence.strip():
        errors["evidence"] = ["Show that the item is now done: a link or a sentence."]
    if errors:
        raise InvalidInput("Closing a follow-up needs evidence.", details=errors)
    found.closed_at, found.closed_by, found.evidence = timezone.now(), actor, evidence
    found.save(update_fields=["closed_at", "closed_by", "evidence"])
    # The release's timeline shows this event: bump its revision like every change (page caches).
    _bump(release)
    _audit(
        release,
        actor,
        "followup.closed",
        followup=found.pk,
        key=found.item_key,
        evidence=evidence,
        due_date=found.due_date.isoformat(),
    )
    return found


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # shown once, never again


@write_transaction
def create_webhook(
    team: Team | str, *, actor: User, url: str, events: list[str] | None = None, allow_private: bool = False
) -> NewWebhook:
    """Register a team URL for signed events. Owners, reviewers and staff may; allow_private needs a superuser."""
    if isinstance(team, str):
        team = Team.objects.filter(slug=team).first()
        if team is None:
            raise NotFound("No such team.")
    if not actor.is_superuser:
        refuse_webhook_creation(actor, team)
    if allow_private and not actor.is_superuser:
        raise NotAllowed("Only an admin may allow private addresses.")
    chosen = list(dict.fromkeys(events)) if events else list(webhooks.WEBHOOK_EVENTS)
    unknown = [e for e in chosen if e not in webhooks.WEBHOOK_EVENTS]
    if unknown:
        raise InvalidInput(
            f"Unknown event(s): {', '.join(map(str, unknown))}.",
            details={"events": [f"Choose from {', '.join(webhooks.WEBHOOK_EVENTS)}."]},
        )
    if not isinstance(url, str) or len(url) > 500:
        raise InvalidInput("Give a URL of at most 500 characters.", details={"url": ["Invalid."]})
    try:
        webhooks.check_url(url, allow_private=allow_private)
    except webhooks.UnsafeURL as exc:
        raise InvalidInput(str(exc), details={"url": [str(exc)]}, code="unsafe_url") from None
    secret = webhooks.new_secret()
    hook = Webhook.objects.create(
        team=team, url=url, secret=secret, events=chosen, allow_private=allow_private, created_by=actor
    )
    _audit(
        None,
        actor,
        "webhook.created",
        team=team.slug,
        webhook=hook.pk,
        url=url,
        events=chosen,
        allow_private=allow_private,
    )
    return NewWebhook(webhook=hook, secret=secret)


# --- reviewer groups -------------------------------------------------------------------------


def _group_state(group: ReviewerGroup | None) -> dict | None:
    if group is None:
        return None
    return {
        "name": group.name,
        "required": group.required,
        "members": sorted(u.get_username() for u in group.members.all()),
    }


@write_transaction
def save_reviewer_group(
    team: Team | str,
    *,
    actor: User | None,
    name: str,
    required: bool = True,
    members: list[User | str | int] = (),
    group: ReviewerGroup | int | None = None,
) -> ReviewerGroup:
    """Create a reviewer group (security, release-eng), or change one's name, members and rule."""
    team = _lock_team(team)
    _require_manager(actor, team)
    found = None
    if group is not None:
        pk = group.pk if isinstance(group, ReviewerGroup) else group
        found = ReviewerGroup.objects.filter(team=team, pk=pk).prefetch_related("members").first()
        if found is None:
            raise NotFound("No such reviewer group.")
    errors: dict[str, list[str]] = {}
    name = name.strip().lower() if isinstance(name, str) else ""
    try:
        SLUG_VALIDATOR(name)
        if len(name) > 50:
            raise ValidationError("length")
    except ValidationError:
        errors["name"] = ["1 to 50 lower-case letters, digits and dashes."]
    else:
        taken = ReviewerGroup.objects.filter(team=team, name=name)
        if found is not None:
            taken = taken.exclude(pk=found.pk)
        if taken.exists():
            errors["name"] = ["The team has a group of this name already."]
    people = []
    for value in members:
        try:
            people.append(find_user(value))
        except InvalidInput:
            errors.setdefault("members", []).append(f"{value}: no such account.")
    on_team = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    outsiders = [p.get_username() for p in people if p.pk not in on_team]
    if outsiders:
        errors.setdefault("members", []).append(f"Not on the team: {', '.join(outsiders)}.")
    if errors:
        raise InvalidInput("The reviewer group is invalid; nothing was changed.", details=errors)
    before = _group_state(found)
    if found is None:
        found = ReviewerGroup.objects.create(team=team, name=name, required=bool(required))
    else:
        found.name, found.required = name, bool(required)
        found.save(update_fields=["name", "required"])
    found.members.set(people)
    found = ReviewerGroup.objects.prefetch_related("members").get(pk=found.pk)
    after = _group_state(found)
    if before == after:
        return found
    verb = "team.reviewer_group_created" if before is None else "team.reviewer_group_changed"
    _team_audit(actor, verb, team, before=before, after=after, group=found.pk)
    return found


@write_transaction
def delete_reviewer_group(team: Team | str, *, actor: User | None, group: ReviewerGroup | int) -> None:
    team = _lock_team(team)
    _require_manager(actor, team)
    pk = group.pk if isinstance(group, ReviewerGroup) else group
    found = ReviewerGroup.objects.filter(team=team, pk=pk).prefetch_related("members").first()
    if found is None:
        raise NotFound("No such reviewer group.")
    before = _group_state(found)
    found.delete()
    _team_audit(actor, "team.reviewer_group_deleted", team, before=before, after=None, group=pk)


# --- freeze windows ----------------------------------------------------------------------------


def _window_state(window: FreezeWindow | None) -> dict | None:
    return None if window is None else window.as_dict()


@write_transaction
def add_freeze_window(
    team: Team | str, *, actor: User | None, starts_at: datetime, ends_at: datetime, reason: str
) -> FreezeWindow:
    """Plan a deploy freeze: the gate stays shut and deploys are refused from start to end."""
    team = _lock_team(team)
    _require_manager(actor, team)
    errors: dict[str, list[str]] = {}
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 500 or "\x00" in reason:
        errors["reason"] = ["Say why, in at most 500 characters."]
    if not isinstance(starts_at, datetime) or timezone.is_naive(starts_at):
        errors["starts_at"] = ["A date and time."]
    if not isinstance(ends_at, datetime) or timezone.is_naive(ends_at):
        errors["ends_at"] = ["A date and time."]
    if not errors:
        if ends_at <= starts_at:
            errors["ends_at"] = ["The freeze must end after it starts."]
        elif ends_at <= timezone.now():
            errors["ends_at"] = ["This freeze would be over already."]
    if errors:
        raise InvalidInput("The freeze window is invalid; nothing was changed.", details=errors)
    window = FreezeWindow.objects.create(
        team=team, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=actor
    )
    _team_audit(actor, "team.freeze_added", team, before=None, after=_window_state(window), window=window.pk)
    return window


@write_transaction
def end_freeze_window(team: Team | str, *, actor: User | None, window: FreezeWindow | int) -> None:
    """Remove a planned freeze, or end a running one now (overrides given during it are kept)."""
    team = _lock_team(team)
    _require_manager(actor, team)
    pk = window.pk if isinstance(window, FreezeWindow) else window
    found = FreezeWindow.objects.filter(team=team, pk=pk).first()
    if found is None:
        raise NotFound("No such freeze window.")
    before = _window_state(found)
    now = timezone.now()
    if found.ends_at <= now:
        raise TransitionError("This freeze is over already.", code="freeze_over")
    if found.starts_at < now or found.overrides.exists():
        found.ends_at = max(now, found.starts_at + timedelta(microseconds=1))
        found.save(update_fields=["ends_at"])
        after = _window_state(found)
    else:
        found.delete()
        after = None
    _team_audit(actor, "team.freeze_ended", team, before=before, after=after, window=pk)


# --- webhooks -------------------------------------------------------------------------------------


def _hook_state(hook: Webhook) -> dict:
    return {"url": hook.url, "events": list(hook.events), "active": hook.active}


@write_transaction
def update_webhook(
    team: Team | str,
    *,
    actor: User | None,
    webhook: Webhook | int,
    active: bool | None = None,
    events: list[str] | None = None,
) -> Webhook:
    """Pause or resume a hook, or change its events (its URL and secret never change: make a new one)."""
    team = _lock_team(team)
    _require_manager(actor, team)
    pk = webhook.pk if isinstance(webhook, Webhook) else webhook
    hook = Webhook.objects.filter(team=team, pk=pk).first()
    if hook is None:
        raise NotFound("No such webhook.")
    before = _hook_state(hook)
    if events is not None:
        unknown = [e for e in events if e not in webhooks.WEBHOOK_EVENTS]
        if unknown or not events:
            raise InvalidInput(
                "Choose at least one known event.",
                details={"events": [f"Choose from {', '.join(webhooks.WEBHOOK_EVENTS)}."]},
            )
        hook.events = [e for e in webhooks.WEBHOOK_EVENTS if e in events]
    if active is not None:
        hook.active = bool(active)
    after = _hook_state(hook)
    if after == before:
        return hook
    hook.save(update_fields=["events", "active"])
    _team_audit(actor, "team.webhook_changed", team, before=before, after=after, webhook=hook.pk)
    return hook


def may_create_webhook(actor: User, team: Team) -> bool:
    """Owners and staff on the team pages; reviewers too (the API allowed them before owners existed)."""
    return team_policy.may_manage(actor, team) or (
        Membership.objects.filter(team=team, user=actor, role=Role.REVIEWER).exists()
    )


def refuse_webhook_creation(actor: User, team: Team) -> None:
    if not may_create_webhook(actor, team):
        raise NotAllowed(f"Only an owner or reviewer of team {team.slug} (or staff) may register webhooks.")
