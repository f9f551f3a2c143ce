"""Run a scan in a worker: what its scanner may read, a heartbeat while it runs, one recorded result.

The database row of a ScanRun is the source of truth, not the broker. The `run_scan` task
claims its run by a conditional update (so a duplicate delivery does nothing), runs it here
with a heartbeat, and records one result. `sweep` (the `sweep_scans` task, Celery beat)
re-sends queued runs no worker took and re-queues running runs whose heartbeat went stale (a
killed worker); after RELEASEGATE_SCAN_MAX_ATTEMPTS a run ends in `error`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django_guid import set_guid

from .. import workflow
from ..effects import outbox
from ..git import repo
from ..models import DEFAULT_PRODUCTION_CONFIG_GLOBS, ScanRun, TestReport
from ..scans import registry
from ..scans.base import ScannerUnavailable, ScanResult, ScanTarget
from .secret_cache import DatabaseBlobCache

logger = logging.getLogger(__name__)

Status = ScanRun.Status


def claimed_run(run_id: int) -> ScanRun | None:
    """A claimed run with what its scanner reads (release, team, repository); None if it is gone."""
    return (
        ScanRun.objects.select_related("release__team", "release__repository", "repository")
        .filter(pk=run_id)
        .first()
    )


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


def set_correlation_id(value: str) -> None:
    """Log the run's lines under the correlation id of the request that queued it."""
    with contextlib.suppress(Exception):
        set_guid(value or None)


def run_now(run_id: int) -> ScanRun | None:
    """Claim and run one scan in this process (demo data, management commands)."""
    if not workflow.claim_scan(run_id):
        return ScanRun.objects.filter(pk=run_id).first()
    run = ScanRun.objects.select_related("release__team", "release__repository", "repository").get(pk=run_id)
    try:
        result = execute(run)
    except (repo.RepoError, ScannerUnavailable) as exc:
        result = ScanResult(Status.ERROR, error=exc.message)
    return record(run_id, result)


def sweep(now: datetime) -> dict:
    """Re-send queued runs nobody took; re-queue (or give up on) runs whose worker died."""
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
        elif workflow.requeue_scan(run_id, stale_before=stale) and outbox.send(outbox.RUN_SCAN, run_id):
            done["requeued"].append(run_id)
    # Queued runs wait longer before a re-send: a busy pool may simply not have reached them.
    unsent = now - timedelta(seconds=settings.RELEASEGATE_SCAN_RESEND_SECONDS)
    waiting = ScanRun.objects.filter(status=Status.QUEUED, queued_at__lt=unsent).values_list("pk", flat=True)
    for run_id in list(waiting[:500]):
        if workflow.mark_scan_enqueued(run_id, not_since=unsent) and outbox.send(outbox.RUN_SCAN, run_id):
            done["resent"].append(run_id)
    return done
