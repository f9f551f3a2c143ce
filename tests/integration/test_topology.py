"""More than one machine: two web processes without git, two workers with their own disks.

Two gunicorn masters (one worker each) share PostgreSQL, the Redis broker and a Redis cache
(CACHE_URL); neither has git on its PATH, nor any data directory of the workers. Two Celery
workers each have their own RELEASEGATE_DATA_DIR (their mirrors), as separate machines would;
one runs beat. The whole journey goes through HTTP, alternating between the two web
processes: register, create, read what ships, report, tick, submit, scan, approve, gate, deploy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from checklists.scans.demo import make_demo_repository
from tests.helpers.factories import UserFactory
from tests.helpers.processes import ROOT, ProtectedEndpoint, Worker, database_url, free_port, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


JUNIT = b'<testsuite name="s" tests="3" failures="0" errors="0"><testcase name="a"/></testsuite>'


class Web:
    """gunicorn serving releasegate with no git on its PATH and no access to the workers' disks."""

    def __init__(self, port: int, tmp: Path, env: dict):
        self.url = f"http://127.0.0.1:{port}"
        self.log = tmp / f"web-{port}.log"
        no_tools = tmp / f"web-{port}-path"
        no_tools.mkdir()
        env = {**env, "PATH": str(no_tools), "RELEASEGATE_DATA_DIR": str(tmp / f"web-{port}-data")}
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "--workers", "1", "releasegate.wsgi"]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)  # noqa: S310
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        raise AssertionError(self.log.read_text()[-3000:])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def call(web: Web, token: str, method: str, path: str, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        web.url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def eventually(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    from releasegate.celery import app

    app.control.purge()
    broker = os.environ["CELERY_BROKER_URL"]
    common = {
        "CACHE_URL": broker.rsplit("/", 1)[0] + "/13",
        "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1",
        "RELEASEGATE_GIT_HOSTS": "git.example.com",
        "DEBUG": "false",
    }
    webs, workers = [], []
    try:
        for port in (free_port(), free_port()):
            env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker,
                   "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **common}  # fmt: skip
            webs.append(Web(port, tmp_path, env))
        for n in (1, 2):
            folder = tmp_path / f"machine-{n}"
            folder.mkdir()
            worker = Worker(f"machine{n}", folder, worker_env(folder, broker, **common), beat=n == 1)
            workers.append((worker, folder / "data"))
            worker.wait_ready(timeout=120)
        yield webs, workers
    finally:  # also when starting one of them failed: nothing may outlive the test
        for web in webs:
            web.stop()
        for worker, _ in workers:
            worker.stop()


def test_the_whole_journey_across_two_web_processes_and_two_workers(
    team, alice, bob, ci_user, tmp_path, cluster
):
    (web_a, web_b), workers = cluster
    endpoint = ProtectedEndpoint(free_port())
    try:
        team.probe_endpoints = endpoint.urls(1)
        team.save()
        ops = UserFactory(username="ops", is_staff=True)  # a local path: staff register it
        token = {u.username: Token.objects.get_or_create(user=u)[0].key for u in (alice, bob, ci_user, ops)}
        url, commit = make_demo_repository(tmp_path / "repo")

        status, body = call(
            web_a, token["ops"], "POST", "/api/v1/teams/payments/repositories/", {"location": url}
        )
        assert status == 201, body
        status, release = call(web_b, token["ci"], "POST", "/api/v1/releases/", {
            "team": "payments", "title": "Across machines", "repository": url, "commit": commit,
            "version_before": "1.0", "version_after": "1.1", "rollback_plan": "redeploy 1.0",
            "deployment_steps": "run the job", "known_limitations": "none"})  # fmt: skip
        assert status == 201, release
        path = f"/api/v1/releases/{release['id']}/"
        eventually(
            lambda: call(web_a, token["ci"], "GET", path + "shipping/")[1]["state"] == "ready",
            90,
            "what ships",
        )
        status, _ = call(web_a, token["ci"], "POST", path + "test-reports/", JUNIT, "application/xml")
        assert status == 201
        for item in release["items"]:
            if item["satisfied_by"] == "manual":
                status, _ = call(
                    web_b, token["alice"], "PATCH", path + f"items/{item['key']}/", {"state": "done"}
                )
                assert status == 200
        status, body = call(web_a, token["alice"], "POST", path + "submit/")
        assert status == 200, body

        def scanned():
            detail = call(web_b, token["bob"], "GET", path)[1]
            return (
                all(s["status"] == "passed" for s in detail["scans"] if s["current"])
                and len(detail["scans"]) >= 6
            )

        eventually(scanned, 180, "every scan to pass on the workers")
        status, body = call(web_b, token["bob"], "POST", path + "signoffs/", {"decision": "approve"})
        assert status == 201, body
        status, gate = call(web_a, token["ci"], "GET", path + f"gate/?commit={commit}")
        assert status == 200 and gate["open"] is True, gate
        status, body = call(web_b, token["ci"], "POST", path + "deploy/", {"commit": commit})
        assert status == 200 and body["status"] == "deployed", body
    finally:
        endpoint.close()
    # Only the workers hold mirrors; the web processes never made one.
    assert any((data / "mirrors").exists() for _, data in workers)
    assert not any(tmp_path.glob("web-*-data/mirrors"))
