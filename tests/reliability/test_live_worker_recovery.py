"""With the shipped settings, a scan whose worker was SIGKILLed runs again within a minute.

Heartbeats every RELEASEGATE_SCAN_STALE_SECONDS / 4 (7.5 s), presumed dead after 30 s, swept
every 10 s: the run is re-queued at most about 40 s after the kill and another worker takes it.
The measured time goes to docs/reliability.md ("Recovery after a worker dies").
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from checklists import workflow
from checklists.models import ScanRun
from tests.helpers.factories import make_release
from tests.helpers.processes import ProtectedEndpoint, WorkerPool, worker_env

from ..helpers.processes import wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
PROBE_PORT = 8109


def test_a_killed_workers_scan_is_finished_by_another_within_a_minute(team, alice, tmp_path):
    from releasegate.celery import app

    app.control.purge()
    endpoint = ProtectedEndpoint(PROBE_PORT, delay=2.0)
    broker = os.environ["CELERY_BROKER_URL"]
    # The shipped defaults: no RELEASEGATE_SCAN_STALE_SECONDS, the sweep every 10 s.
    env = worker_env(tmp_path, broker, RELEASEGATE_SWEEP_SECONDS="10")
    env.pop("RELEASEGATE_SCAN_STALE_SECONDS", None)
    pool = WorkerPool(tmp_path)
    try:
        team.probe_endpoints = endpoint.urls(1)
        team.save()
        release = make_release(team, alice)
        doomed = pool.start("doomed", env)
        [run] = workflow.request_scans(release, actor=alice, scanners=["auth_probe"])
        wait_for(lambda: endpoint.hits > 0, 60, "the scan to reach the endpoint", interval=0.05)
        doomed.kill()  # SIGKILL, mid-scan
        killed_at = time.monotonic()
        pool.start("survivor", env)
        wait_for(
            lambda: ScanRun.objects.get(pk=run.pk).status in ScanRun.FINAL,
            120,
            "the scan to finish",
            interval=0.5,
        )
        recovered = time.monotonic() - killed_at
    finally:
        pool.stop_all()
        endpoint.close()
    run.refresh_from_db()
    assert run.status == ScanRun.Status.PASSED and run.attempts == 2
    sys.stderr.write(f"\nrecovery after SIGKILL: {recovered:.1f} s\n")
    assert recovered < 60, recovered
