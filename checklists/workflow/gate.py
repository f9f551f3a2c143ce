"""The deploy gate and the freeze windows that can shut it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from .. import approvals, freeze, permissions
from ..errors import InvalidInput, TransitionError
from ..models import (
    EVIDENCE_MAX,
    FreezeOverride,
    Membership,
    Release,
)
from .base import (
    SHA_RE,
    Status,
    _audit,
    _bump,
    _clean_text,
    _lock,
)
from .transactions import write_transaction


@dataclass(frozen=True)
class GateStatus:
    reasons: list[str]
    freeze: list[dict]  # the freeze windows among the reasons
    approvals: int  # approvals that count now (0 unless the release is approved)


def gate_status(release: Release, commit: Any) -> GateStatus:
    """The gate's answer: why it is shut (reasons, empty when open) and which freeze windows shut it."""
    reasons = []
    sha = commit.strip().lower() if isinstance(commit, str) else ""
    if not SHA_RE.fullmatch(sha):
        reasons.append("Give the commit you are about to deploy as ?commit=<full 40-character SHA>.")
    elif sha != release.commit:
        reasons.append(f"Commit {sha} is not the release's commit {release.commit}.")
    counting = []
    if release.status != Status.APPROVED:
        reasons.append(f"The release is {release.get_status_display().lower()}, not approved.")
    else:
        counting = approvals.counting_approvals(release)
        reasons.extend(approvals.shortfall(release, counting=counting))
    windows = freeze.blocking_windows(release)
    reasons.extend(freeze.describe(window) for window in windows)
    return GateStatus(reasons=reasons, freeze=[w.as_dict() for w in windows], approvals=len(counting))


def gate_reasons(release: Release, commit: Any) -> list[str]:
    """Why a pipeline may not deploy `commit` of this release now; empty when the gate is open."""
    return gate_status(release, commit).reasons


# --- rules beyond the gate (docs/rules.md) ---------------------------------------------


def independence_warning(actor: User, release: Release) -> str:
    """Why reviewer independence could not be fully checked (the repository was unreadable), or ''."""
    from ..independence import check

    return check(actor, release).warning


def _check_freeze(release: Release) -> None:
    windows = freeze.blocking_windows(release)
    if windows:
        hint = (
            " A reviewer may override it for this hotfix, with a reason."
            if release.kind == Release.Kind.HOTFIX
            else " Only a hotfix may pass a freeze, with a reviewer's override."
        )
        raise TransitionError(
            freeze.describe(windows[0]) + "." + hint,
            code="freeze",
            details={"windows": [w.as_dict() for w in windows]},
        )


@write_transaction
def override_freeze(release: Release | int, *, actor: User, reason: str) -> list[FreezeOverride]:
    """Let a hotfix through the team's active freeze window(s); a reviewer (not its author) says why."""
    release = _lock(release)
    if release.kind != Release.Kind.HOTFIX:
        raise TransitionError("Only a hotfix may pass a deploy freeze.", code="freeze")
    if release.status in (Status.DEPLOYED, Status.ROLLED_BACK, Status.CANCELLED):
        raise TransitionError(f"The release is {release.get_status_display().lower()}; nothing to override.")
    if actor.pk == release.author_id:
        raise permissions.SelfReviewError(
            "You are the author of this hotfix; a reviewer must override the freeze."
        )
    if permissions.role_in(actor, release.team_id) != Membership.Role.REVIEWER:
        raise permissions.NotAReviewerError(
            f"Only a reviewer of team {release.team.slug} may override a freeze."
        )
    errors: dict[str, list[str]] = {}
    reason = _clean_text("reason", reason, errors, limit=EVIDENCE_MAX)
    if not errors and not reason.strip():
        errors["reason"] = ["Say why this hotfix must ship during the freeze."]
    if errors:
        raise InvalidInput("An override needs a reason.", details=errors)
    windows = freeze.blocking_windows(release)
    if not windows:
        raise TransitionError("No deploy freeze blocks this release now.", code="no_freeze")
    overrides = [
        FreezeOverride.objects.create(release=release, window=w, reviewer=actor, reason=reason)
        for w in windows
    ]
    _bump(release)
    _audit(release, actor, "freeze.overridden", reason=reason, windows=[w.as_dict() for w in windows])
    return overrides
