"""SIGKILL a Celery worker in the middle of a scan, ten times; every scan still ends once.

Ten releases each queue an `auth_probe` scan against slow local endpoints (about three
seconds a scan). Ten workers are started one after another and each is killed with
SIGKILL (main process, pool child and beat) as soon as its scan is talking to the
endpoints. Two survivors then finish the work: the sweep re-queues runs whose heartbeat
stopped. Every run ends in a final state, is recorded once (one `scan.finished` event),
no run is duplicated, and each item follows its run.
"""

from __future__ import annotations

import os
import time

import pytest

from checklists import workflow
from checklists.models import AuditEvent, ScanRun
from tests.helpers.factories import make_release
from tests.helpers.processes import ProtectedEndpoint

from ..helpers.processes import PROBE_PORT, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
KILLS = 10
RELEASES = 10
SLOW_SECONDS = 1.5


@pytest.fixture
def slow_endpoint():
    endpoint = ProtectedEndpoint(PROBE_PORT, delay=SLOW_SECONDS)
    yield endpoint
    endpoint.close()


def test_ten_sigkilled_workers_leave_every_scan_final_exactly_once(team, alice, slow_endpoint, start_workers):
    from releasegate.celery import app

    broker = os.environ["CELERY_BROKER_URL"]
    app.control.purge()
    team.probe_endpoints = slow_endpoint.urls(2)
    team.save()
    releases = [make_release(team, alice, title=f"Fault {n}") for n in range(RELEASES)]
    for release in releases:
        workflow.request_scans(release, actor=alice, scanners=["auth_probe"])
    started = time.monotonic()

    for n in range(KILLS):
        hits = slow_endpoint.hits
        worker = start_workers(f"doomed{n}", broker)
        wait_for(
            lambda hits=hits: slow_endpoint.hits > hits, 60, f"worker {n} to start a scan", interval=0.05
        )
        worker.kill()  # SIGKILL, mid-scan
    start_workers("survivor1", broker)
    start_workers("survivor2", broker)

    runs = ScanRun.objects.filter(release__in=releases)
    wait_for(
        lambda: all(r.status in ScanRun.FINAL for r in runs.all()), 240, "every scan to end", interval=0.5
    )
    assert time.monotonic() - started < 420
    assert runs.count() == RELEASES  # no duplicate run
    assert sum(runs.values_list("attempts", flat=True)) >= RELEASES + KILLS  # the kills hit real claims
    for release in releases:
        [run] = runs.filter(release=release)
        assert run.status == ScanRun.Status.PASSED, (run.status, run.error)
        assert AuditEvent.objects.filter(release=release, verb="scan.finished").count() == 1
        assert release.items.get(satisfied_by="scan:auth_probe").state == "done"
        release.refresh_from_db()
        assert release.events.count() == release.revision
