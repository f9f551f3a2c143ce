"""The deploy gate, and the freeze windows that can shut it; its rules are checklists/policy/abilities.py's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from ..models import (
    FreezeOverride,
    Release,
)
from ..policy import abilities, freeze
from ..policy.shipping import Shipping
from .base import (
    SHA_RE,
    Status,
    _audit,
    _bump,
    _lock,
    required_reason,
)
from .transactions import write_transaction


@dataclass(frozen=True)
class GateStatus:
    reasons: list[str]
    freeze: list[dict]  # the freeze windows among the reasons
    approvals: int  # approvals that count now (0 unless the release is approved)
    shipping: Shipping  # what ships, as read (relation to production included)


def gate_status(release: Release, commit: Any, facts: abilities.Facts | None = None) -> GateStatus:
    """The gate's answer: why it is shut (reasons, empty when open) and which freeze windows shut it."""
    facts = facts or abilities.Facts(release)
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
        counting = facts.counting
        reasons.extend(facts.shortfall)
        reasons.extend(abilities.range_reasons(release, facts))
    windows = facts.freeze_windows
    reasons.extend(freeze.describe(window) for window in windows)
    return GateStatus(
        reasons=reasons,
        freeze=[w.as_dict() for w in windows],
        approvals=len(counting),
        shipping=facts.shipping,
    )


def gate_reasons(release: Release, commit: Any) -> list[str]:
    """Why a pipeline may not deploy `commit` of this release now; empty when the gate is open."""
    return gate_status(release, commit).reasons


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
