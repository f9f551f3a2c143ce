"""A real `celery -A releasegate worker` process against Redis and PostgreSQL.

Skipped unless CELERY_BROKER_URL is redis:// and the database is PostgreSQL (the second
leg of .ci/run sets both). The worker uses the test database, so tests commit their rows
(transaction=True) for it to see them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    reason = None
    if not broker.startswith("redis://"):
        reason = "integration: needs CELERY_BROKER_URL=redis://... (set by .ci/run's second leg)"
    elif not postgres:
        reason = (
            "integration: needs DATABASE_URL=postgres://... so a worker process can share the test database"
        )
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, name: str, tmp: Path, env: dict, *, beat: bool = True):
        self.log = tmp / f"worker-{name}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "releasegate", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "-n", f"{name}@%h",
        ]  # fmt: skip
        if beat:
            cmd += ["--beat", "--schedule", str(tmp / f"beat-{name}")]
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL if it does not end in time."""
        self.kill(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class ProtectedEndpoint:
    """An endpoint on 127.0.0.1 that answers 401 after `delay` seconds and counts its hits.

    Auth-probe scans in these suites contact only such local endpoints.
    """

    def __init__(self, port: int, *, delay: float = 0.0):
        self.port, self.hits = port, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.hits += 1
                time.sleep(delay)
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def urls(self, count: int) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/api/{n}" for n in range(count)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def worker_env(tmp_path, broker: str, **extra: str) -> dict:
    """The environment of a worker process on the test database and the given broker."""
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "RELEASEGATE_DATA_DIR": str(tmp_path / "data"),
        "RELEASEGATE_SWEEP_SECONDS": "1",
        # The tests' repositories are local paths and their hosts git.example.com (tests/conftest.py).
        "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1",
        "RELEASEGATE_GIT_HOSTS": "git.example.com,*.example.org",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


class WorkerPool:
    """Workers a test starts; every one is stopped when the test ends."""

    def __init__(self, tmp_path):
        self.tmp_path, self.workers = tmp_path, []

    def start(self, name: str, env: dict) -> Worker:
        worker = Worker(name, self.tmp_path, env)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def start_worker(tmp_path):
    from releasegate.celery import app

    app.control.purge()  # messages left by an earlier run name ids of another database
    env = worker_env(
        tmp_path,
        os.environ["CELERY_BROKER_URL"],
        RELEASEGATE_SCAN_STALE_SECONDS="4",
        RELEASEGATE_SCAN_RESEND_SECONDS="4",
    )
    pool = WorkerPool(tmp_path)
    yield lambda name: pool.start(name, env)
    pool.stop_all()
