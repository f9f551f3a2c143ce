"""Every Celery task: thin wrappers that take ids and call the worker, the workflow and the effects.

Each task is registered under the name checklists/effects/outbox.py declares: the names are
the broker contract (queued messages and beat entries carry them), so a task keeps its name
wherever its code lives. Tasks are safe to run twice and quiet when their row is gone; the
rows, not the broker, are the source of truth (checklists/worker/).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from . import workflow
from .effects import emails, outbox, webhooks
from .git import repo
from .integrations import deliveries
from .models import CommitRange, ScanRun
from .scans.base import ScannerUnavailable, ScanResult
from .worker import integrations as integration_sweep
from .worker import ranges, scans

logger = logging.getLogger(__name__)

Status = ScanRun.Status
RETRY_BACKOFF = (10, 60)  # seconds before the first and second retry of a transient failure
RANGE_RETRY_BACKOFF = (10, 60, 300)


# --- scans -------------------------------------------------------------------------------------


@shared_task(
    name=outbox.RUN_SCAN,
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
    run = scans.claimed_run(run_id)
    if run is None:
        return "gone"
    scans.set_correlation_id(run.correlation_id)
    limit = settings.RELEASEGATE_SCAN_MAX_ATTEMPTS
    if run.attempts > limit:
        scans.record(
            run_id, ScanResult(Status.ERROR, error=f"The scan was started {limit} times without finishing.")
        )
        return Status.ERROR
    logger.info(
        "scan run %s: %s on commit %s, attempt %s", run_id, run.scanner, run.commit[:12], run.attempts
    )
    interval = max(0.5, settings.RELEASEGATE_SCAN_STALE_SECONDS / 4)
    try:
        with scans.Heartbeat(run_id, interval):
            result = scans.execute(run)
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
    scans.record(run_id, result)
    logger.info("scan run %s: %s with %s finding(s)", run_id, result.status, len(result.findings))
    return result.status


@shared_task(name=outbox.SWEEP_SCANS, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def sweep_scans() -> dict:
    """Re-send queued runs nobody took; re-queue (or give up on) runs whose worker died;
    the same for commit ranges (worker/ranges.py)."""
    now = timezone.now()
    done = scans.sweep(now)
    done.update(ranges.sweep(now))
    if any(done.values()):
        logger.info("sweep: %s", done)
    return done


# --- what ships (workflow/ranges.py) -------------------------------------------------------------


@shared_task(
    name=outbox.READ_COMMIT_RANGE,
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
    if not workflow.claim_range_read(range_id, stale_after=ranges.claim_timeout()):
        return "skipped"
    rng = CommitRange.objects.select_related("repository").filter(pk=range_id).first()
    if rng is None:
        return "gone"
    try:
        read = ranges.read(rng)
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


@shared_task(
    name=outbox.REPOINT_RELEASES, acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150
)
def repoint_releases(repository_id: int) -> list[int]:
    """Production of a repository moved: point its open releases at their new ranges."""
    return workflow.repoint_releases(repository_id)


# --- webhooks and emails (checklists/effects/) -----------------------------------------------------


@shared_task(
    name=outbox.DELIVER_WEBHOOK,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=None,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one webhook delivery; retried with exponential backoff (checklists/effects/webhooks.py)."""
    outcome = webhooks.deliver(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(
    name=outbox.NOTIFY_SUBMITTED,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=emails.MAX_RETRIES,
)
def notify_submitted(self, release_id: int) -> int:
    """Tell each reviewer of the team (never the author) that a release waits for review."""
    return emails.send_submitted(self, release_id)


@shared_task(
    name=outbox.NOTIFY_DECISION, bind=True, acks_late=True, ignore_result=True, max_retries=emails.MAX_RETRIES
)
def notify_decision(self, signoff_id: int) -> int:
    """Tell the author that their release was approved or rejected, and by whom."""
    return emails.send_decision(self, signoff_id)


@shared_task(
    name=outbox.NOTIFY_EVENT, bind=True, acks_late=True, ignore_result=True, max_retries=emails.MAX_RETRIES
)
def notify_event(self, release_id: int, event: str) -> int:
    """Tell the team's address (if it chose `event`) and the people an event concerns."""
    return emails.send_event(self, release_id, event)


# --- integrations: GitHub, GitLab, Slack (checklists/integrations/deliveries.py) -----------------


@shared_task(
    name=outbox.DELIVER_INTEGRATION,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=None,
    soft_time_limit=60,
    time_limit=90,
)
def deliver_integration(self, delivery_id: int) -> str:
    """Send one logged call to GitHub, GitLab or Slack; retried with backoff while it may succeed."""
    outcome = deliveries.deliver(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(
    name=outbox.ANSWER_DEPLOYMENTS, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90
)
def answer_deployments(release_id: int) -> int:
    """Answer the GitHub deployments waiting for this release that its gate now decides."""
    return len(workflow.answer_deployments(release_id))


@shared_task(
    name=outbox.SWEEP_INTEGRATIONS, acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=150
)
def sweep_integrations() -> dict:
    """Answer waiting deployments (freezes end, approvals expire), re-send lost deliveries,
    forget replay keys that can no longer be replayed."""
    done = integration_sweep.sweep(timezone.now())
    if done["answered"] or done["resent"]:
        logger.info("integrations sweep: %s", done)
    return done
