"""Fixtures for the reliability suite's live tests: gunicorn, Celery workers and a private Redis.

Tests marked `live` need PostgreSQL and RELIABILITY_LIVE=1 (set by .ci/legs/60-reliability.sh);
elsewhere they are skipped. The bad-input corpus, the workflow properties and the page
cache tests run in every suite (SQLite too). Every process started here is started by
this suite, on its own ports (127.0.0.1:8106-8109, Redis 6390), and stopped by it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.conftest import Worker, WorkerPool, _database_url, worker_env

ROOT = Path(__file__).resolve().parents[2]
WEB_PORT = 8107
PROBE_PORT = 8108
REDIS_PORT = 6390
HOST = "127.0.0.1"


def pytest_collection_modifyitems(config, items):
    live = os.environ.get("RELIABILITY_LIVE") == "1"
    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        if "tests/reliability" not in str(item.fspath):
            continue
        item.add_marker(pytest.mark.reliability)
        if item.get_closest_marker("live") and not (live and postgres):
            item.add_marker(
                pytest.mark.skip(reason="live: needs RELIABILITY_LIVE=1 and PostgreSQL (CI leg 60)")
            )


def pytest_configure(config):
    config.addinivalue_line("markers", "live: starts gunicorn, workers or Redis (CI leg 60-reliability)")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class PrivateRedis:
    """A redis-server of this suite's own, so stopping it never touches anyone else's broker."""

    def __init__(self, port: int = REDIS_PORT):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="rg-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no",
               "--dir", self.dir]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
        wait_for(self.ping, 20, "the private redis-server")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=HOST, port=self.port, socket_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


class Gunicorn:
    def __init__(self, tmp: Path, broker: str, port: int = WEB_PORT, workers: int = 3):
        self.port = port
        self.log = tmp / f"gunicorn-{port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "RELEASEGATE_DATA_DIR": str(tmp / "data"),
            "RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1",
            "RELEASEGATE_GIT_HOSTS": "git.example.com,*.example.org",
            "PYTHONPATH": str(ROOT),
        }
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
               "--bind", f"{HOST}:{port}", "--workers", str(workers), "--max-requests", "0",
               "releasegate.wsgi"]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.answers, 60, "gunicorn")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/healthz", timeout=2)  # noqa: S310
        except urllib.error.HTTPError:
            return True
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text()[-3000:]) from None
            return False
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def start_gunicorn(tmp_path):
    servers: list[Gunicorn] = []

    def start(broker: str | None = None, **kwargs) -> Gunicorn:
        server = Gunicorn(tmp_path, broker or os.environ.get("CELERY_BROKER_URL", "memory://"), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_workers(tmp_path):
    """Celery workers (with beat: the sweep runs every second) on a broker of the test's choice."""
    pool = WorkerPool(tmp_path)

    def start(name: str, broker: str) -> Worker:
        env = worker_env(
            tmp_path,
            broker,
            RELEASEGATE_SCAN_STALE_SECONDS="3",
            RELEASEGATE_SCAN_RESEND_SECONDS="3",
            RELEASEGATE_SCAN_MAX_ATTEMPTS="20",
        )
        return pool.start(name, env)

    yield start
    pool.stop_all()
