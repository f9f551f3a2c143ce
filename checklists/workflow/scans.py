"""Scan runs of a release and the reports they read: queued, claimed, recorded once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, Q
from django.utils import timezone

from ..effects import emails, outbox, webhooks
from ..errors import InvalidInput
from ..models import (
    Release,
    ScanRun,
    TestReport,
)
from ..scans import registry
from ..scans.junit import JUnitSummary, parse_junit
from .base import (
    State,
    _audit,
    _bump,
    _correlation_id,
    _lock,
    _make_approvals_stale,
    _require_member,
    _require_open,
    clean_commit,
)
from .transactions import write_transaction

logger = logging.getLogger(__name__)

# --- scans -------------------------------------------------------------------


def _create_scan_runs(
    release: Release, actor: User | None, scanners: list[str], *, force: bool
) -> list[ScanRun]:
    created = []
    for scanner in scanners:
        existing = release.scans.filter(
            current=True, scanner=scanner, commit=release.commit, repository_id=release.repository_id
        ).first()
        # A queued run reads its inputs (repository, latest report) when it starts, so it
        # already covers a forced request; a running one may have read older inputs.
        if existing and (not force or existing.status == ScanRun.Status.QUEUED):
            continue
        if existing:
            existing.current = False
            existing.save(update_fields=["current"])
        run = ScanRun.objects.create(
            release=release,
            scanner=scanner,
            repository_id=release.repository_id,
            commit=release.commit,
            requested_by=actor if actor and actor.is_authenticated else None,
            owner=release.team.owner,
            correlation_id=_correlation_id(),
        )
        outbox.on_commit(outbox.RUN_SCAN, run.pk)  # if the broker is down, the sweep sends it
        created.append(run)
    return created


@write_transaction
def request_scans(
    release: Release | int, *, actor: User | None, scanners: list[str] | None = None, force: bool = False
) -> list[ScanRun]:
    """Queue scans of the release commit; an unforced request for a scan already run changes nothing."""
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    on_checklist = sorted({i.argument for i in release.items.scans()})
    wanted = on_checklist if scanners is None else list(dict.fromkeys(scanners))
    unknown = [name for name in wanted if name not in registry.NAMES or name not in on_checklist]
    if unknown:
        raise InvalidInput(
            f"Not a scanner of this checklist: {', '.join(map(str, unknown))}.",
            details={"scanners": [f"Choose from {', '.join(on_checklist)}."]},
        )
    runs = _create_scan_runs(release, actor, wanted, force=force)
    if not runs:
        return list(release.scans.filter(current=True, commit=release.commit, scanner__in=wanted))
    # A forced re-run re-opens the items it will decide again.
    reopened = release.items.scans([run.scanner for run in runs]).filter(state__in=[State.DONE, State.FAILED])
    payload: dict[str, Any] = {"scanners": [run.scanner for run in runs], "force": force}
    if reopened.update(state=State.OPEN, scan=None, set_by=None, set_at=None):
        payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, actor, "scans.requested", **payload)
    return runs


def claim_scan(run_id: int) -> bool:
    """Move a queued run to running and count the attempt; only one worker wins (conditional update)."""
    now = timezone.now()
    won = ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.QUEUED).update(
        status=ScanRun.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    return won == 1


def heartbeat_scan(run_id: int) -> bool:
    """Note that a running scan is alive; False if it is no longer running."""
    return (
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING).update(heartbeat_at=timezone.now())
        == 1
    )


def requeue_scan(run_id: int, *, stale_before=None) -> bool:
    """Put a running scan back in the queue (a retry, or its worker died); False if another did."""
    runs = ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING)
    if stale_before is not None:
        runs = runs.filter(heartbeat_at__lt=stale_before)
    return runs.update(status=ScanRun.Status.QUEUED, heartbeat_at=timezone.now()) == 1


def mark_scan_enqueued(run_id: int, *, not_since) -> bool:
    """Claim the right to re-send a queued run nobody took since `not_since` (one sweeper wins)."""
    return (
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.QUEUED)
        .filter(Q(heartbeat_at__lt=not_since) | Q(heartbeat_at__isnull=True, queued_at__lt=not_since))
        .update(heartbeat_at=timezone.now())
        == 1
    )


@write_transaction
def record_scan_result(
    run_id: int, *, status: str, findings: list | None = None, summary: dict | None = None, error: str = ""
) -> ScanRun | None:
    """Store a scan's outcome once and tick or fail its item if the run is about the release's commit."""
    if status not in ScanRun.FINAL:
        raise ValueError(f"not a final scan status: {status}")
    release_id = ScanRun.objects.filter(pk=run_id).values_list("release_id", flat=True).first()
    if release_id is None:
        return None  # the release was deleted meanwhile
    release = _lock(release_id)
    run = ScanRun.objects.select_for_update().get(pk=run_id)
    if run.status in ScanRun.FINAL:
        return run  # recorded already: a redelivered task changes nothing
    run.status, run.findings, run.summary = status, findings or [], summary or {}
    run.error, run.finished_at = error[:4000], timezone.now()
    run.save(update_fields=["status", "findings", "summary", "error", "finished_at"])
    payload: dict[str, Any] = {
        "scanner": run.scanner,
        "scan": run.pk,
        "status": status,
        "findings": len(run.findings),
    }
    item = release.items.scans([run.scanner]).first()
    applies = (
        run.current
        and run.commit == release.commit
        and run.repository_id in (None, release.repository_id)
        and release.is_open_for_changes
    )
    new_state = {ScanRun.Status.PASSED: State.DONE, ScanRun.Status.FAILED: State.FAILED}.get(status)
    skipped = item is None or item.state in (State.WAIVED, State.NOT_APPLICABLE)
    if applies and new_state and not skipped and (item.state != new_state or item.scan_id != run.pk):
        item.state, item.scan, item.set_at = new_state, run, timezone.now()
        item.set_by_id = _vouched_by(run) if new_state == State.DONE else None
        item.evidence = f"scan #{run.pk} {status} on {run.commit[:12]}: {len(run.findings)} finding(s)"
        item.evidence_commit = run.commit
        item.save(update_fields=["state", "scan", "set_by", "set_at", "evidence", "evidence_commit"])
        payload["item"] = {"key": item.key, "to": new_state}
        payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, None, "scan.finished", **payload)
    if run.current and status in (ScanRun.Status.FAILED, ScanRun.Status.ERROR):
        webhooks.emit(
            release,
            "scan_failed",
            scanner=run.scanner,
            scan=run.pk,
            status=status,
            commit=run.commit,
            findings=len(run.findings),
            error=run.error,
        )
        emails.on_event(release, "scan_failed")
    return run


def _vouched_by(run: ScanRun) -> int | None:
    """Who supplied the evidence a passing scan judged: the uploader of a `tests` report, else nobody.

    The worker reads the newest report for the commit (checklists/worker/scans.py); whoever
    uploaded it ticked the item as surely as by hand (reviewer independence: `ticked_item`).
    """
    if run.scanner != "tests":
        return None
    reports = TestReport.objects.filter(release_id=run.release_id, commit=run.commit)
    return reports.values_list("uploaded_by_id", flat=True).first()


# --- test reports ----------------------------------------------------------------


@dataclass(frozen=True)
class TestReportResult:
    report: TestReport
    summary: JUnitSummary
    scans: list[ScanRun]  # the tests scan queued to judge it (release commit only)

    __test__ = False  # not a pytest test class


@write_transaction
def store_test_report(
    release: Release | int, *, actor: User, content: bytes, commit: str | None = None
) -> TestReportResult:
    """Keep a JUnit XML report for a commit of the release (the release's own by default).

    A report for the release's commit re-runs its `tests` scan in the same transaction, so
    an upload is never stored without the scan that judges it (nor the reverse).
    """
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    commit = release.commit if commit is None else clean_commit(commit)
    summary = parse_junit(content)
    report = TestReport.objects.create(
        release=release,
        commit=commit,
        uploaded_by=actor,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    counts = {name: getattr(summary, name) for name in ("tests", "failures", "errors", "skipped")}
    _bump(release, status=release.status, approved_at=release.approved_at)  # its timeline changed
    _audit(
        release, actor, "test_report.uploaded", report=report.pk, commit=commit, size=report.size, **counts
    )
    runs = []
    if commit == release.commit and release.items.scans(["tests"]).exists():
        runs = request_scans(release, actor=actor, scanners=["tests"], force=True)
    return TestReportResult(report=report, summary=summary, scans=runs)
