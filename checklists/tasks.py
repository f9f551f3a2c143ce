"""Celery tasks: thin wrappers that take ids and call the workflow and the scanners.

The database row of a ScanRun is the source of truth, not the broker. `run_scan`
claims its run by a conditional update (so a duplicate delivery does nothing), writes
a heartbeat while it works, and records one result. `sweep_scans` (Celery beat)
re-sends queued runs no worker took and re-queues running runs whose heartbeat went
stale (a killed worker); after RELEASEGATE_SCAN_MAX_ATTEMPTS a run ends in `error`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import workflow
from .effects.emails import notify_decision, notify_event, notify_submitted  # noqa: F401 - for the worker
from .git import commit_range, repo
from .models import DEFAULT_PRODUCTION_CONFIG_GLOBS, CommitRange, Release, ScanRun, TestReport
from .scans import registry
from .scans.base import ScannerUnavailable, ScanResult, ScanTarget
from .worker.secret_cache import DatabaseBlobCache

logger = logging.getLogger(__name__)

Status = ScanRun.Status
RETRY_BACKOFF = (10, 60)  # seconds before the first and second retry of a transient failure


def build_target(run: ScanRun) -> ScanTarget:
    """Everything the run's scanner may read: repo snapshot, team settings, test report."""
    release, team = run.release, run.release.team
    repository = run.repository or release.repository  # what the run was asked to read
    target = ScanTarget(
        repository=repository.location,
        commit=run.commit,
        config_globs=team.production_config_globs or list(DEFAULT_PRODUCTION_CONFIG_GLOBS),
        secrets_allowlist=list(team.secrets_allowlist or []),
        endpoints=list(team.probe_endpoints or []),
        public_allowlist=list(team.probe_public_allowlist or []),
        options={"second_opinion": settings.RELEASEGATE_SECRETS_SECOND_OPINION},
    )
    if registry.get(run.scanner).needs_repository:
        target.snapshot = repo.snapshot(
            repo.GitSource.of(repository),
            run.commit,
            max_file_bytes=settings.RELEASEGATE_SCAN_MAX_FILE_BYTES,
            max_total_bytes=settings.RELEASEGATE_SCAN_MAX_TOTAL_BYTES,
        )
    if run.scanner == "secrets":
        target.secrets_cache = DatabaseBlobCache()
    if run.scanner == "tests":
        reports = TestReport.objects.filter(release_id=release.pk)
        report = reports.filter(commit=run.commit).first() or reports.first()
        if report is not None:
            target.test_report, target.test_report_commit = bytes(report.content), report.commit
    return target


def execute(run: ScanRun) -> ScanResult:
    """Run the scanner of `run` now, in this process; errors become an `error` result."""
    started = time.monotonic()
    try:
        result = registry.get(run.scanner).run(build_target(run))
    except (repo.RepoError, ScannerUnavailable) as exc:
        if exc.transient:
            raise
        result = ScanResult(Status.ERROR, error=exc.message)
    result.summary["duration_ms"] = int((time.monotonic() - started) * 1000)
    return result


def record(run_id: int, result: ScanResult) -> ScanRun | None:
    return workflow.record_scan_result(
        run_id,
        status=result.status,
        findings=[f.as_dict() for f in result.findings],
        summary=result.summary,
        error=result.error,
    )


class Heartbeat:
    """A thread that keeps `heartbeat_at` fresh while the scan runs."""

    def __init__(self, run_id: int, interval: float):
        self.run_id, self.interval = run_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"scan-heartbeat-{run_id}")

    def _beat(self):
        try:
            while not self.stop.wait(self.interval):
                with contextlib.suppress(Exception):  # a missed beat is retried on the next tick
                    workflow.heartbeat_scan(self.run_id)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def _set_correlation_id(value: str) -> None:
    with contextlib.suppress(Exception):
        from django_guid import set_guid

        set_guid(value or None)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=len(RETRY_BACKOFF),
    soft_time_limit=settings.RELEASEGATE_SCAN_SOFT_TIME_LIMIT,
    time_limit=settings.RELEASEGATE_SCAN_SOFT_TIME_LIMIT + 60,
    ignore_result=True,
)
def run_scan(self, run_id: int) -> str:
    """Claim, run and record one ScanRun; safe to run twice, quiet when the run is gone."""
    if not workflow.claim_scan(run_id):
        logger.info("scan run %s is not queued (taken, finished or deleted); nothing to do", run_id)
        return "skipped"
    run = (
        ScanRun.objects.select_related("release__team", "release__repository", "repository")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        return "gone"
    _set_correlation_id(run.correlation_id)
    limit = settings.RELEASEGATE_SCAN_MAX_ATTEMPTS
    if run.attempts > limit:
        record(
            run_id, ScanResult(Status.ERROR, error=f"The scan was started {limit} times without finishing.")
        )
        return Status.ERROR
    logger.info(
        "scan run %s: %s on commit %s, attempt %s", run_id, run.scanner, run.commit[:12], run.attempts
    )
    interval = max(0.5, settings.RELEASEGATE_SCAN_STALE_SECONDS / 4)
    try:
        with Heartbeat(run_id, interval):
            result = execute(run)
    except (repo.RepoError, ScannerUnavailable) as exc:  # transient only: execute() handled the rest
        if self.request.retries < self.max_retries and run.attempts < limit:
            countdown = RETRY_BACKOFF[self.request.retries]
            logger.warning("scan run %s: %s; retrying in %s s", run_id, exc.message, countdown)
            workflow.requeue_scan(run_id)
            raise self.retry(countdown=countdown) from None
        result = ScanResult(Status.ERROR, error=f"{exc.message} (gave up after {run.attempts} attempts)")
    except SoftTimeLimitExceeded:
        result = ScanResult(
            Status.ERROR, error=f"The scan took longer than {settings.RELEASEGATE_SCAN_SOFT_TIME_LIMIT} s."
        )
    except Exception:
        # The traceback goes to the worker log; scanners never put file contents in exceptions.
        logger.exception("scan run %s (%s) failed unexpectedly", run_id, run.scanner)
        result = ScanResult(
            Status.ERROR, error="The scanner failed unexpectedly; the worker log has details."
        )
    record(run_id, result)
    logger.info("scan run %s: %s with %s finding(s)", run_id, result.status, len(result.findings))
    return result.status


def enqueue(run_id: int) -> bool:
    try:
        run_scan.delay(run_id)
    except Exception:  # noqa: BLE001 - any broker failure; the row stays and the next sweep retries
        logger.warning("could not enqueue scan run %s; the next sweep retries", run_id)
        return False
    return True


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_scans() -> dict:
    """Re-send queued runs nobody took; re-queue (or give up on) runs whose worker died;
    the same for commit ranges (sweep_ranges)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RELEASEGATE_SCAN_STALE_SECONDS)
    limit = settings.RELEASEGATE_SCAN_MAX_ATTEMPTS
    done = {"requeued": [], "resent": [], "gave_up": []}
    dead = ScanRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale).values_list("pk", "attempts")
    for run_id, attempts in list(dead):
        if attempts >= limit:
            workflow.record_scan_result(
                run_id,
                status=Status.ERROR,
                error=f"The scan stopped its worker {attempts} times; it is not retried again. "
                "Re-run it once the cause is fixed.",
            )
            done["gave_up"].append(run_id)
        elif workflow.requeue_scan(run_id, stale_before=stale) and enqueue(run_id):
            done["requeued"].append(run_id)
    # Queued runs wait longer before a re-send: a busy pool may simply not have reached them.
    unsent = now - timedelta(seconds=settings.RELEASEGATE_SCAN_RESEND_SECONDS)
    waiting = ScanRun.objects.filter(status=Status.QUEUED, queued_at__lt=unsent).values_list("pk", flat=True)
    for run_id in list(waiting[:500]):
        if workflow.mark_scan_enqueued(run_id, not_since=unsent) and enqueue(run_id):
            done["resent"].append(run_id)
    done.update(sweep_ranges(now))
    if any(done.values()):
        logger.info("sweep: %s", done)
    return done


def run_scan_now(run_id: int) -> ScanRun | None:
    """Claim and run one scan in this process (demo data, management commands)."""
    if not workflow.claim_scan(run_id):
        return ScanRun.objects.filter(pk=run_id).first()
    run = ScanRun.objects.select_related("release__team", "release__repository", "repository").get(pk=run_id)
    try:
        result = execute(run)
    except (repo.RepoError, ScannerUnavailable) as exc:
        result = ScanResult(Status.ERROR, error=exc.message)
    return record(run_id, result)


# --- what ships (workflow/ranges.py) ------------------------------------------------------

RANGE_RETRY_BACKOFF = (10, 60, 300)


def range_claim_timeout() -> float:
    """A claim older than this belongs to a worker that died: another may take the range."""
    return settings.RELEASEGATE_GIT_TIMEOUT * 3 + 60


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=len(RANGE_RETRY_BACKOFF),
    soft_time_limit=settings.RELEASEGATE_GIT_TIMEOUT * 3,
    time_limit=settings.RELEASEGATE_GIT_TIMEOUT * 3 + 30,
)
def read_commit_range(self, range_id: int) -> str:
    """Read one pending commit range with git and store it; safe to run twice."""
    if not workflow.claim_range_read(range_id, stale_after=range_claim_timeout()):
        return "skipped"
    rng = CommitRange.objects.select_related("repository").filter(pk=range_id).first()
    if rng is None:
        return "gone"
    try:
        read = commit_range.read_range(repo.GitSource.of(rng.repository), rng.base, rng.head)
    except repo.RepoError as exc:
        if exc.transient and self.request.retries < self.max_retries:
            logger.warning("range %s: %s; retrying", range_id, exc.message)
            CommitRange.objects.filter(pk=range_id).update(claimed_at=None)
            raise self.retry(countdown=RANGE_RETRY_BACKOFF[self.request.retries]) from None
        workflow.record_range_read(range_id, error=exc.message)
        return CommitRange.Status.UNREADABLE
    except SoftTimeLimitExceeded:
        workflow.record_range_read(range_id, error="Reading the repository took too long.")
        return CommitRange.Status.UNREADABLE
    except Exception:
        logger.exception("range %s could not be read", range_id)
        workflow.record_range_read(
            range_id, error="The repository could not be read; the worker log has details."
        )
        return CommitRange.Status.UNREADABLE
    workflow.record_range_read(range_id, read=read)
    logger.info("range %s: %s, %s commit(s)", range_id, read.relation, len(read.commits))
    return CommitRange.Status.READY


def read_range_now(range_id: int) -> CommitRange | None:
    """Read one pending range here and now, in this process (demo data, management commands)."""
    if not workflow.claim_range_read(range_id, stale_after=0):
        return CommitRange.objects.filter(pk=range_id).first()
    rng = CommitRange.objects.select_related("repository").get(pk=range_id)
    try:
        read = commit_range.read_range(repo.GitSource.of(rng.repository), rng.base, rng.head)
    except repo.RepoError as exc:
        return workflow.record_range_read(range_id, error=exc.message)
    return workflow.record_range_read(range_id, read=read)


def read_ranges_now(release: Release) -> None:
    """Read the release's range now if it is pending (re-pointing it first if production moved)."""
    workflow.repoint_release(release.pk)
    release.refresh_from_db()
    if release.commit_range_id and release.commit_range.status == CommitRange.Status.PENDING:
        read_range_now(release.commit_range_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def repoint_releases(repository_id: int) -> list[int]:
    """Production of a repository moved: point its open releases at their new ranges."""
    return workflow.repoint_releases(repository_id)


def enqueue_range(range_id: int) -> bool:
    try:
        read_commit_range.delay(range_id)
    except Exception:  # noqa: BLE001 - any broker failure; the next sweep retries
        logger.warning("could not enqueue range %s; the next sweep retries", range_id)
        return False
    return True


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


def sweep_ranges(now) -> dict:
    """Re-send pending ranges nobody read; re-point open releases whose production moved."""
    done = {"ranges_resent": [], "releases_repointed": []}
    unsent = now - timedelta(seconds=settings.RELEASEGATE_SCAN_RESEND_SECONDS)
    abandoned = now - timedelta(seconds=range_claim_timeout())
    waiting = CommitRange.objects.filter(status=CommitRange.Status.PENDING).filter(
        Q(claimed_at__isnull=True, requested_at__lt=unsent) | Q(claimed_at__lt=abandoned)
    )
    for range_id in list(waiting.values_list("pk", flat=True)[:200]):
        # Mark it sent now, so the next sweep waits again (one sweeper wins).
        if CommitRange.objects.filter(pk=range_id, status=CommitRange.Status.PENDING).update(
            requested_at=now, claimed_at=None
        ) and enqueue_range(range_id):
            done["ranges_resent"].append(range_id)
    # A deploy enqueues the re-pointing; if that message was lost, this finds what it missed.
    for release_id in list(releases_pointing_elsewhere().values_list("pk", flat=True)[:200]):
        if workflow.repoint_release(release_id) is not None:
            done["releases_repointed"].append(release_id)
    return done


@shared_task(
    bind=True, acks_late=True, ignore_result=True, max_retries=None, soft_time_limit=60, time_limit=90
)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one webhook delivery; retried with exponential backoff (checklists/effects/webhooks.py)."""
    from .effects import webhooks

    outcome = webhooks.deliver(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


# --- integrations: GitHub, GitLab, Slack (checklists/integrations/deliveries.py) -----------------


@shared_task(
    bind=True, acks_late=True, ignore_result=True, max_retries=None, soft_time_limit=60, time_limit=90
)
def deliver_integration(self, delivery_id: int) -> str:
    """Send one logged call to GitHub, GitLab or Slack; retried with backoff while it may succeed."""
    from .integrations import deliveries as outbox

    outcome = outbox.deliver(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def answer_deployments(release_id: int) -> int:
    """Answer the GitHub deployments waiting for this release that its gate now decides."""
    return len(workflow.answer_deployments(release_id))


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150)
def sweep_integrations() -> dict:
    """Answer waiting deployments (freezes end, approvals expire), re-send lost deliveries,
    forget replay keys that can no longer be replayed."""
    from .integrations import deliveries as outbox
    from .models.integrations import DeploymentCheck, SeenRequest

    now = timezone.now()
    done = {"answered": 0, "resent": []}
    waiting = DeploymentCheck.objects.filter(state=DeploymentCheck.State.WAITING, release__isnull=False)
    for release_id in list(waiting.values_list("release_id", flat=True).distinct()[:200]):
        done["answered"] += len(workflow.answer_deployments(release_id))
    for delivery_id in outbox.unsent(now):
        if outbox.enqueue(delivery_id):
            done["resent"].append(delivery_id)
    # Slack refuses requests older than five minutes itself; GitHub deliveries are kept 30 days.
    SeenRequest.objects.filter(source="slack", received_at__lt=now - timedelta(minutes=10)).delete()
    SeenRequest.objects.filter(source="github", received_at__lt=now - timedelta(days=31)).delete()
    if done["answered"] or done["resent"]:
        logger.info("integrations sweep: %s", done)
    return done
