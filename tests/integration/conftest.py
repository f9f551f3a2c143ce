"""A real `celery -A releasegate worker` process against Redis and PostgreSQL.

Skipped unless CELERY_BROKER_URL is redis:// and the database is PostgreSQL (the second
leg of .ci/run sets both). The worker uses the test database, so tests commit their rows
(transaction=True) for it to see them.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.helpers.processes import WorkerPool, worker_env


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
