"""Fixtures for the reliability suite's live tests: gunicorn, Celery workers and a private Redis.

Tests marked `live` need PostgreSQL and RELIABILITY_LIVE=1 (set by .ci/legs/60-reliability.sh);
elsewhere they are skipped. The bad-input corpus, the workflow properties and the page
cache tests run in every suite (SQLite too). Every process started here is started by
this suite, on its own ports (127.0.0.1:8106-8109, Redis 6390), and stopped by it.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

from tests.helpers.processes import Gunicorn, PrivateRedis, Worker, WorkerPool, worker_env


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


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


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
