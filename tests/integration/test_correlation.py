"""A request's correlation id reaches the worker: in the log lines of the scan and the email it caused."""

from __future__ import annotations

import time
import uuid

import pytest

from checklists.models import ScanRun
from checklists.scans.demo import make_demo_repository
from tests.helpers.api import client_for, release_url
from tests.helpers.factories import make_release
from tests.helpers.release_steps import tick_manual_items

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_line(log, *needles: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if all(needle in line for needle in needles):
                return line
        time.sleep(0.25)
    raise AssertionError(f"no worker log line with {needles}:\n{log.read_text()[-4000:]}")


def test_the_worker_logs_the_scan_with_the_correlation_id_of_the_request(team, alice, tmp_path, start_worker):
    worker = start_worker("corr")
    url, sha = make_demo_repository(tmp_path / "repo")
    release = make_release(team, alice, repository=url, commit=sha)
    correlation_id = f"ci-{uuid.uuid4().hex}"

    response = client_for(alice).post(
        release_url(release, "scans/"),
        {"scanners": ["secrets"]},
        format="json",
        HTTP_X_REQUEST_ID=correlation_id,
    )

    assert response.status_code == 202, response.content
    assert response["X-Request-ID"] == correlation_id
    run = ScanRun.objects.get(release=release, scanner="secrets")
    assert run.correlation_id == correlation_id
    line = wait_for_line(worker.log, f"scan run {run.pk}:", "finding(s)")
    assert f"[{correlation_id}]" in line


def test_the_correlation_id_travels_in_the_task_header_to_the_email_task(team, alice, tmp_path, start_worker):
    # The email task reads no correlation id from the database: only the Celery
    # header (django-guid's integration) can bring the request's id to its log line.
    worker = start_worker("mail")
    url, sha = make_demo_repository(tmp_path / "repo")
    release = make_release(team, alice, repository=url, commit=sha)
    tick_manual_items(release, alice)
    correlation_id = f"ci-{uuid.uuid4().hex}"

    response = client_for(alice).post(release_url(release, "submit/"), HTTP_X_REQUEST_ID=correlation_id)

    assert response.status_code == 200, response.content
    line = wait_for_line(worker.log, f"release {release.pk} submitted: emailed 2 reviewer(s)")
    assert f"[{correlation_id}]" in line
    # The scans that the submit queued carry the same id.
    scan_line = wait_for_line(worker.log, "scan run", "finding(s)")
    assert f"[{correlation_id}]" in scan_line
