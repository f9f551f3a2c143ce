"""Scan tasks called directly (never eager mode): claim, record once, errors, retries, sweep."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from checklists import tasks, workflow
from checklists.effects import outbox
from checklists.models import AuditEvent, ChecklistItem, ScanRun, TestReport
from checklists.scans.demo import make_demo_repository
from checklists.worker import scans as worker_scans

from .helpers import broker
from .helpers.api import client_for, release_url
from .helpers.factories import make_release

REPO_SCANS = ["secrets", "mock_flag", "env_credentials", "debug_off"]
State = ChecklistItem.State


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def sent(monkeypatch):
    """What the sweep hands to the broker (the broker itself is not under test here)."""
    return broker.record_ids(monkeypatch, outbox.RUN_SCAN)


def release_on(team, alice, tmp_path, *, problems):
    url, sha = make_demo_repository(tmp_path / ("bad" if problems else "good"), problems=problems)
    return make_release(team, alice, repository=url, commit=sha)


def run_all(release, actor, scanners=REPO_SCANS):
    runs = workflow.request_scans(release, actor=actor, scanners=scanners)
    for run in runs:
        assert tasks.run_scan(run.pk) in ("passed", "failed", "error")
    return {r.scanner: r for r in ScanRun.objects.filter(release=release, current=True)}


def scan_items(release):
    return {i.argument: i for i in release.items.filter(satisfied_by__in=[f"scan:{s}" for s in REPO_SCANS])}


def test_planted_problems_fail_four_items_with_findings_naming_files(team, alice, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    release = release_on(team, alice, tmp_path, problems=True)
    runs = run_all(release, alice)
    assert {name: run.status for name, run in runs.items()} == dict.fromkeys(REPO_SCANS, "failed")
    files = {name: {f["file"] for f in run.findings} for name, run in runs.items()}
    assert files["secrets"] >= {"app/gateway_client.py", "config/.env.production"}
    assert files["mock_flag"] == files["debug_off"] == files["env_credentials"] == {"config/.env.production"}
    items = scan_items(release)
    assert {name: item.state for name, item in items.items()} == dict.fromkeys(REPO_SCANS, State.FAILED)
    assert items["secrets"].scan_id == runs["secrets"].pk

    planted = (tmp_path / "bad" / "app" / "gateway_client.py").read_text().split('"')[1::2]
    planted.append(
        (tmp_path / "bad" / "config" / ".env.production").read_text().split("DB_PASSWORD=")[1][:14]
    )
    api = client_for(alice).get(release_url(release))
    page = client_for(alice).get(f"/releases/{release.pk}/")
    stored = json.dumps(
        [
            list(ScanRun.objects.values("findings", "summary", "error")),
            list(AuditEvent.objects.values("payload")),
        ],
        default=str,
    )
    for secret in planted:
        assert len(secret) >= 14
        for text in (stored, api.content.decode(), page.content.decode(), caplog.text):
            assert secret not in text


def test_clean_repository_gets_four_items_done(team, alice, tmp_path):
    release = release_on(team, alice, tmp_path, problems=False)
    runs = run_all(release, alice)
    assert {name: run.status for name, run in runs.items()} == dict.fromkeys(REPO_SCANS, "passed")
    assert {i.state for i in scan_items(release).values()} == {State.DONE}
    assert "scan #" in scan_items(release)["secrets"].evidence


def test_running_the_task_twice_records_one_result(team, alice, tmp_path):
    release = release_on(team, alice, tmp_path, problems=False)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert tasks.run_scan(run.pk) == "passed"
    assert tasks.run_scan(run.pk) == "skipped"
    assert AuditEvent.objects.filter(release=release, verb="scan.finished").count() == 1
    run.refresh_from_db()
    assert run.attempts == 1


def test_task_exits_cleanly_when_the_run_is_gone(db):
    assert tasks.run_scan(987654) == "skipped"


def test_missing_repository_is_an_error_in_the_team_exception_queue(team, alice, bob, tmp_path):
    release = make_release(team, alice, repository=str(tmp_path / "nowhere"))
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert tasks.run_scan(run.pk) == "error"
    run.refresh_from_db()
    assert run.error.startswith("Could not fetch")
    assert run.owner == bob == team.owner
    assert list(ScanRun.objects.exceptions()) == [run]
    assert release.items.get(satisfied_by="scan:secrets").state == State.OPEN


def test_unknown_commit_is_an_error_with_a_plain_message(team, alice, tmp_path):
    url, _ = make_demo_repository(tmp_path / "r")
    release = make_release(team, alice, repository=url, commit="0" * 40)
    [run] = workflow.request_scans(release, actor=alice, scanners=["debug_off"])
    tasks.run_scan(run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == ("error", f"Commit {'0' * 40} is not in the repository {url}.")


def test_unreachable_endpoint_is_retried_then_recorded_as_error(team, alice):
    team.probe_endpoints = ["http://127.0.0.1:9/admin"]  # nothing listens on the discard port
    team.save()
    release = make_release(team, alice)
    [run] = workflow.request_scans(release, actor=alice, scanners=["auth_probe"])
    tasks.run_scan.apply(args=[run.pk])  # local execution: a retry re-runs at once
    run.refresh_from_db()
    assert run.status == "error"
    assert run.attempts == 3
    assert "could not be reached" in run.error and "gave up after 3 attempts" in run.error


def test_tests_scan_reads_the_report_for_the_release_commit(team, alice, ci_user):
    release = make_release(team, alice)
    report = b'<testsuite name="unit" tests="2"><testcase name="a"/><testcase name="b"/></testsuite>'
    TestReport.objects.create(
        release=release,
        commit=release.commit,
        uploaded_by=ci_user,
        content=report,
        size=len(report),
        sha256="x",
    )
    [run] = workflow.request_scans(release, actor=alice, scanners=["tests"])
    assert tasks.run_scan(run.pk) == "passed"
    assert release.items.get(satisfied_by="scan:tests").state == State.DONE


def test_tests_scan_fails_on_a_report_for_another_commit(team, alice, ci_user):
    release = make_release(team, alice)
    report = b'<testsuite name="unit" tests="1"><testcase name="a"/></testsuite>'
    TestReport.objects.create(
        release=release, commit="c" * 40, uploaded_by=ci_user, content=report, size=len(report), sha256="x"
    )
    [run] = workflow.request_scans(release, actor=alice, scanners=["tests"])
    assert tasks.run_scan(run.pk) == "failed"
    run.refresh_from_db()
    assert run.findings[0]["rule"] == "report-for-other-commit"


# --- the sweep ------------------------------------------------------------------


def age(run, seconds, **fields):
    past = timezone.now() - timedelta(seconds=seconds)
    ScanRun.objects.filter(pk=run.pk).update(queued_at=past, heartbeat_at=past, **fields)


def test_sweep_requeues_a_running_scan_whose_heartbeat_went_stale(team, alice, tmp_path, sent, settings):
    release = release_on(team, alice, tmp_path, problems=False)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert workflow.claim_scan(run.pk)
    age(run, settings.RELEASEGATE_SCAN_STALE_SECONDS + 5)
    assert tasks.sweep_scans()["requeued"] == [run.pk]
    assert sent == [run.pk]
    assert tasks.run_scan(run.pk) == "passed"  # the redelivered task finishes it
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("passed", 2)
    assert ScanRun.objects.filter(release=release, scanner="secrets").count() == 1


def test_sweep_leaves_a_scan_with_a_fresh_heartbeat_alone(team, alice, sent):
    release = make_release(team, alice)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    workflow.claim_scan(run.pk)
    assert not any(tasks.sweep_scans().values())
    assert sent == []


def test_sweep_gives_up_after_the_attempts_cap(team, alice, sent, settings):
    release = make_release(team, alice)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    workflow.claim_scan(run.pk)
    age(run, settings.RELEASEGATE_SCAN_STALE_SECONDS + 5, attempts=settings.RELEASEGATE_SCAN_MAX_ATTEMPTS)
    assert tasks.sweep_scans()["gave_up"] == [run.pk]
    run.refresh_from_db()
    assert run.status == "error" and "stopped its worker 3 times" in run.error
    assert sent == []


def test_sweep_resends_a_queued_scan_once_per_stale_period(team, alice, sent, settings):
    release = make_release(team, alice)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    ScanRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep_scans()["resent"] == [run.pk]
    assert tasks.sweep_scans()["resent"] == []
    assert sent == [run.pk]


def test_a_claimed_run_over_the_attempts_cap_ends_in_error(team, alice, settings):
    release = make_release(team, alice)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    ScanRun.objects.filter(pk=run.pk).update(attempts=settings.RELEASEGATE_SCAN_MAX_ATTEMPTS)
    assert tasks.run_scan(run.pk) == "error"


def test_run_scan_now_runs_synchronously_for_demo_data(team, alice, tmp_path):
    release = release_on(team, alice, tmp_path, problems=True)
    [run] = workflow.request_scans(release, actor=alice, scanners=["mock_flag"])
    assert worker_scans.run_now(run.pk).status == "failed"


def test_scan_requested_while_the_broker_is_down_is_kept_and_sent_later(
    team, alice, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    release = make_release(team, alice)
    broker.refuse(monkeypatch, outbox.RUN_SCAN, OperationalError("Error 111 connecting to 127.0.0.1:6379."))
    with django_capture_on_commit_callbacks(execute=True):
        [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    run.refresh_from_db()
    assert run.status == "queued"

    sent = broker.record_ids(monkeypatch, outbox.RUN_SCAN)
    ScanRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep_scans()["resent"] == [run.pk]
    assert sent == [run.pk]
