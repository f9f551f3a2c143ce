"""Scans through a real worker: results tick items, and a SIGKILLed worker's scan finishes once."""

from __future__ import annotations

import pytest
from django.conf import settings

from checklists import workflow
from checklists.models import AuditEvent, ChecklistItem, ScanRun
from checklists.scans.demo import make_demo_repository
from tests.helpers.factories import make_release
from tests.helpers.processes import ProtectedEndpoint, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
REPO_SCANS = ["secrets", "mock_flag", "env_credentials", "debug_off"]
PROBE_PORT = 8102  # this suite's own port; only 127.0.0.1 is ever contacted
SLOW_SECONDS = 2.5


def all_final(release, count):
    runs = ScanRun.objects.filter(release=release, current=True)
    return runs.count() == count and all(r.status in ScanRun.FINAL for r in runs)


def test_worker_fails_planted_problems_and_passes_a_clean_repository(team, alice, tmp_path, start_worker):
    start_worker("a")
    bad_url, bad_sha = make_demo_repository(tmp_path / "bad", problems=True)
    good_url, good_sha = make_demo_repository(tmp_path / "good")
    bad = make_release(team, alice, repository=bad_url, commit=bad_sha)
    good = make_release(team, alice, repository=good_url, commit=good_sha)
    workflow.request_scans(bad, actor=alice, scanners=REPO_SCANS)
    workflow.request_scans(good, actor=alice, scanners=REPO_SCANS)

    wait_for(lambda: all_final(bad, 4) and all_final(good, 4), 90, "eight scans")
    items = {
        (i.release_id, i.argument): i
        for i in ChecklistItem.objects.filter(satisfied_by__in=[f"scan:{s}" for s in REPO_SCANS])
    }
    for scanner in REPO_SCANS:
        assert items[(bad.pk, scanner)].state == "failed"
        assert items[(good.pk, scanner)].state == "done"
        run = ScanRun.objects.get(release=bad, scanner=scanner)
        assert "config/.env.production" in {f["file"] for f in run.findings}
    secrets_run = ScanRun.objects.get(release=bad, scanner="secrets")
    assert "app/gateway_client.py" in {f["file"] for f in secrets_run.findings}


def test_the_worker_reads_what_ships_when_a_release_is_created(team, alice, tmp_path, start_worker):
    start_worker("ranges")
    url, sha = make_demo_repository(tmp_path / "repo")
    release = make_release(team, alice, repository=url, commit=sha)
    release.refresh_from_db()
    assert release.commit_range.status == "pending"

    def read():
        release.commit_range.refresh_from_db()
        return release.commit_range.status != "pending"

    wait_for(read, 60, "the range to be read")
    rng = release.commit_range
    assert rng.status == "ready" and rng.relation == "new", rng.error
    assert rng.commits[0]["sha"] == sha and "app/refunds.py" in {f["path"] for f in rng.files}
    assert AuditEvent.objects.filter(release=release, verb="range.read").exists()


@pytest.fixture
def slow_endpoint():
    endpoint = ProtectedEndpoint(PROBE_PORT, delay=SLOW_SECONDS)
    yield endpoint
    endpoint.close()


def test_scan_of_a_sigkilled_worker_is_redelivered_and_recorded_once(
    team, alice, start_worker, slow_endpoint
):
    team.probe_endpoints = slow_endpoint.urls(4)  # four slow answers: a scan of about ten seconds
    team.save()
    release = make_release(team, alice)
    first = start_worker("doomed")
    [run] = workflow.request_scans(release, actor=alice, scanners=["auth_probe"])
    wait_for(lambda: slow_endpoint.hits >= 1, 30, "the scan to start")
    assert ScanRun.objects.get(pk=run.pk).status == "running"
    first.kill()  # SIGKILL the whole worker: main process, pool child and beat

    start_worker("survivor")
    wait_for(lambda: ScanRun.objects.get(pk=run.pk).status in ScanRun.FINAL, 90, "the redelivered scan")
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("passed", 2)
    assert ScanRun.objects.filter(release=release, scanner="auth_probe").count() == 1
    assert AuditEvent.objects.filter(release=release, verb="scan.finished").count() == 1
    assert release.items.get(satisfied_by="scan:auth_probe").state == "done"
    assert settings.CELERY_TASK_ACKS_LATE
