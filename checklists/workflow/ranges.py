"""What ships: which commit range a release points at, its reading by a worker, and overrides.

A release always points at the CommitRange from its repository's production commit to its
own commit. The workflow re-points it when the release is created, when its commit or
repository changes, when it is submitted, and when a release of the same repository is
deployed (production moved; `repoint_releases`, one release per transaction). A range
that is new is `pending` and a `read_commit_range` task reads it; the worker stores the
result with `record_range_read`, which then checks the approvals already given against
what it found (a reviewer who authored a shipped commit, an older or diverged commit
nobody acknowledged: those approvals go stale).

Locks: the release row first, then the range row (shared by releases of the same commit
and production), then the audit chain. The worker updates a range row in a transaction of
its own, then handles each release that points at it in a transaction of its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..effects import outbox
from ..errors import TransitionError
from ..models import CommitRange, RangeOverride, Release, SignOff
from ..policy import abilities, independence, shipping
from .base import (
    Status,
    _audit,
    _bump,
    _lock,
    _make_approvals_stale,
    required_reason,
)
from .transactions import write_transaction

logger = logging.getLogger(__name__)
RangeStatus = CommitRange.Status
OPEN_STATUSES = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED)


def point_at_range(release: Release, *, retry_unreadable: bool = False) -> CommitRange:
    """Under the release's lock: point it at the range from production to its commit (not saved)."""
    production = shipping.production_release(release)
    base = production.commit if production else ""
    rng, _ = CommitRange.objects.get_or_create(
        repository_id=release.repository_id, base=base, head=release.commit
    )
    now = timezone.now()
    if base == release.commit and rng.status == RangeStatus.PENDING:
        # Production already runs this commit: nothing ships, and nothing needs reading.
        CommitRange.objects.filter(pk=rng.pk, status=RangeStatus.PENDING).update(
            status=RangeStatus.READY, relation=CommitRange.Relation.SAME, ahead_by=0, behind_by=0, read_at=now
        )
        rng.refresh_from_db()
    elif retry_unreadable and rng.status == RangeStatus.UNREADABLE:
        CommitRange.objects.filter(pk=rng.pk, status=RangeStatus.UNREADABLE).update(
            status=RangeStatus.PENDING, error="", attempts=0, claimed_at=None, requested_at=now
        )
        rng.refresh_from_db()
    if rng.status == RangeStatus.PENDING:
        outbox.on_commit(outbox.READ_COMMIT_RANGE, rng.pk)  # if the broker is down, the sweep sends it
    release.commit_range = rng
    return rng


def range_changed_payload(release: Release, rng: CommitRange) -> dict:
    return {"range": {"id": rng.pk, "base": rng.base or None, "head": rng.head, "status": rng.status}}


@write_transaction
def request_range_read(release: Release | int, *, actor: User) -> CommitRange:
    """Read what ships again: after production moved, or when the last read failed."""
    release = _lock(release)
    if refusal := abilities.read_again_refusal(actor, release, abilities.Facts(release)):
        raise refusal
    rng = point_at_range(release, retry_unreadable=True)
    _bump(release, commit_range=rng, status=release.status, approved_at=release.approved_at)
    _audit(release, actor, "range.requested", **range_changed_payload(release, rng))
    return rng


@write_transaction
def repoint_release(release: Release | int) -> CommitRange | None:
    """Point one open release at its current range (production moved); None if it already does."""
    release = _lock(release)
    if release.status not in OPEN_STATUSES or shipping.points_at_production(release):
        return None
    rng = point_at_range(release)
    _bump(release, commit_range=rng, status=release.status, approved_at=release.approved_at)
    _audit(release, None, "range.requested", production_moved=True, **range_changed_payload(release, rng))
    return rng


def repoint_releases(repository_id: int) -> list[int]:
    """Re-point every open release of a repository, one transaction each; the ids that moved."""
    moved = []
    for pk in Release.objects.filter(repository_id=repository_id, status__in=OPEN_STATUSES).values_list(
        "pk", flat=True
    ):
        if repoint_release(pk) is not None:
            moved.append(pk)
    return moved


def claim_range_read(range_id: int, *, stale_after: float) -> bool:
    """Take a pending range to read (one worker wins); a claim older than `stale_after` s is taken over."""
    now = timezone.now()
    return (
        CommitRange.objects.filter(pk=range_id, status=RangeStatus.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=stale_after)))
        .update(claimed_at=now, attempts=F("attempts") + 1)
        == 1
    )


def record_range_read(range_id: int, *, read=None, error: str = "") -> CommitRange | None:
    """Store what a worker read (or why it could not), then check each release that points at it."""
    now = timezone.now()
    if read is not None:
        fields: dict[str, Any] = {
            "status": RangeStatus.READY,
            "relation": read.relation,
            "ahead_by": read.ahead_by,
            "behind_by": read.behind_by,
            "commits": read.commits,
            "files": read.files,
            "truncated": read.truncated,
            "error": "",
        }
    else:
        fields = {
            "status": RangeStatus.UNREADABLE,
            "error": (error or "The repository could not be read.")[:2000],
        }
    with transaction.atomic():
        updated = CommitRange.objects.filter(pk=range_id, status=RangeStatus.PENDING).update(
            read_at=now, **fields
        )
    if not updated:
        return CommitRange.objects.filter(pk=range_id).first()  # read already (a redelivery) or gone
    for pk in Release.objects.filter(commit_range_id=range_id, status__in=OPEN_STATUSES).values_list(
        "pk", flat=True
    ):
        _after_read(pk, range_id)
    return CommitRange.objects.get(pk=range_id)


@write_transaction
def _after_read(release_id: int, range_id: int) -> None:
    """Note the read on the release; approvals it contradicts go stale."""
    release = _lock(release_id)
    if release.commit_range_id != range_id or release.status not in OPEN_STATUSES:
        return
    release.commit_range = rng = CommitRange.objects.get(pk=range_id)
    payload: dict[str, Any] = {
        "range": rng.pk,
        "status": rng.status,
        "relation": rng.relation or None,
        "commits": len(rng.commits),
    }
    if rng.error:
        payload["error"] = rng.error
    if rng.status == RangeStatus.READY:
        found = shipping.shipping(release)
        doubts = []
        for signoff in release.signoffs.filter(stale=False, decision=SignOff.Decision.APPROVE).select_related(
            "reviewer"
        ):
            refusal = independence.commit_author_refusal(signoff.reviewer, release, found)
            if refusal:
                doubts.append({"reviewer": signoff.reviewer.get_username(), "code": refusal["code"]})
            elif found.older_or_diverged and signoff.acknowledged_relation != rng.relation:
                doubts.append(
                    {"reviewer": signoff.reviewer.get_username(), "code": "relation_unacknowledged"}
                )
        if doubts:
            payload["approvals_doubted"] = doubts
            payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, None, "range.read", **payload)


@write_transaction
def override_range(release: Release | int, *, actor: User, reason: str) -> RangeOverride:
    """Let a hotfix be approved although what ships cannot be read now; a reviewer says why."""
    release = _lock(release)
    facts = abilities.Facts(release)
    if refusal := abilities.override_range_refusal(actor, release, facts):
        raise refusal
    reason = required_reason(
        reason, why="Say why this hotfix must be approved before what ships can be read."
    )
    current = facts.shipping
    rng = release.commit_range if shipping.points_at_production(release) else point_at_range(release)
    override, created = RangeOverride.objects.get_or_create(
        release=release, commit_range=rng, defaults={"reviewer": actor, "reason": reason}
    )
    if not created:
        raise TransitionError("This range was overridden already.", code="already_overridden")
    _bump(release, commit_range=rng, status=release.status, approved_at=release.approved_at)
    _audit(
        release,
        actor,
        "range.overridden",
        reason=reason,
        state=current.state,
        error=current.error,
        range=rng.pk,
    )
    return override
