"""Read what ships in a worker: the commit range from production to a release's commit.

The workflow points each open release at its range and stores a `pending` row; the
`read_commit_range` task claims it, reads it with git (checklists/git/commit_range.py) and
stores the result through the workflow (workflow/ranges.py). `sweep` (part of the
`sweep_scans` task, Celery beat) re-sends ranges nobody read and re-points releases whose
production moved while a message was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .. import workflow
from ..effects import outbox
from ..git import commit_range, repo
from ..models import CommitRange, Release


def claim_timeout() -> float:
    """A claim older than this belongs to a worker that died: another may take the range."""
    return settings.RELEASEGATE_GIT_TIMEOUT * 3 + 60


def read(rng: CommitRange) -> commit_range.RangeRead:
    """Read a claimed range with git; raises repo.RepoError when it cannot be read."""
    return commit_range.read_range(repo.GitSource.of(rng.repository), rng.base, rng.head)


def read_now(range_id: int) -> CommitRange | None:
    """Read one pending range here and now, in this process (demo data, management commands)."""
    if not workflow.claim_range_read(range_id, stale_after=0):
        return CommitRange.objects.filter(pk=range_id).first()
    rng = CommitRange.objects.select_related("repository").get(pk=range_id)
    try:
        found = read(rng)
    except repo.RepoError as exc:
        return workflow.record_range_read(range_id, error=exc.message)
    return workflow.record_range_read(range_id, read=found)


def read_pending_now(release: Release) -> None:
    """Read the release's range now if it is pending (re-pointing it first if production moved)."""
    workflow.repoint_release(release.pk)
    release.refresh_from_db()
    if release.commit_range_id and release.commit_range.status == CommitRange.Status.PENDING:
        read_now(release.commit_range_id)


def releases_pointing_elsewhere():
    """Open releases whose range does not start at their repository's production commit now."""
    production = (
        Release.objects.filter(repository=OuterRef("repository"), status=Release.Status.DEPLOYED)
        .exclude(pk=OuterRef("pk"))
        .order_by("-deployed_at", "-id")
        .values("commit")[:1]
    )
    return (
        Release.objects.filter(
            status__in=(Release.Status.DRAFT, Release.Status.IN_REVIEW, Release.Status.APPROVED)
        )
        .annotate(production=Coalesce(Subquery(production), Value("")))
        .filter(
            Q(commit_range__isnull=True)
            | ~Q(commit_range__base=F("production"))
            | ~Q(commit_range__head=F("commit"))
            | ~Q(commit_range__repository=F("repository"))
        )
    )


def sweep(now: datetime) -> dict:
    """Re-send pending ranges nobody read; re-point open releases whose production moved."""
    done = {"ranges_resent": [], "releases_repointed": []}
    unsent = now - timedelta(seconds=settings.RELEASEGATE_SCAN_RESEND_SECONDS)
    abandoned = now - timedelta(seconds=claim_timeout())
    waiting = CommitRange.objects.filter(status=CommitRange.Status.PENDING).filter(
        Q(claimed_at__isnull=True, requested_at__lt=unsent) | Q(claimed_at__lt=abandoned)
    )
    for range_id in list(waiting.values_list("pk", flat=True)[:200]):
        # Mark it sent now, so the next sweep waits again (one sweeper wins).
        if CommitRange.objects.filter(pk=range_id, status=CommitRange.Status.PENDING).update(
            requested_at=now, claimed_at=None
        ) and outbox.send(outbox.READ_COMMIT_RANGE, range_id):
            done["ranges_resent"].append(range_id)
    # A deploy sends the re-pointing; if that message was lost, this finds what it missed.
    for release_id in list(releases_pointing_elsewhere().values_list("pk", flat=True)[:200]):
        if workflow.repoint_release(release_id) is not None:
            done["releases_repointed"].append(release_id)
    return done
