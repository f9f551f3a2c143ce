"""Deploy freezes: planned and ended by a team's owners; a reviewer lets a hotfix through one, with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from ..errors import NotFound, TransitionError
from ..models import FreezeOverride, FreezeWindow, Release, Team
from ..policy import abilities
from .base import FieldErrors, _audit, _bump, _lock, required_reason
from .teams import _lock_team, _require_manager, _team_audit
from .transactions import write_transaction


def _window_state(window: FreezeWindow | None) -> dict | None:
    return None if window is None else window.as_dict()


@write_transaction
def add_freeze_window(
    team: Team | str, *, actor: User | None, starts_at: datetime, ends_at: datetime, reason: str
) -> FreezeWindow:
    """Plan a deploy freeze: the gate stays shut and deploys are refused from start to end."""
    team = _lock_team(team)
    _require_manager(actor, team)
    errors = FieldErrors()
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
    errors.refuse("The freeze window is invalid; nothing was changed.")
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


@write_transaction
def override_freeze(release: Release | int, *, actor: User, reason: str) -> list[FreezeOverride]:
    """Let a hotfix through the team's active freeze window(s); a reviewer (not its author) says why."""
    release = _lock(release)
    facts = abilities.Facts(release)
    if refusal := abilities.override_freeze_refusal(actor, release, facts):
        raise refusal
    reason = required_reason(reason, why="Say why this hotfix must ship during the freeze.")
    windows = facts.freeze_windows
    overrides = [
        FreezeOverride.objects.create(release=release, window=w, reviewer=actor, reason=reason)
        for w in windows
    ]
    _bump(release)
    _audit(release, actor, "freeze.overridden", reason=reason, windows=[w.as_dict() for w in windows])
    return overrides
