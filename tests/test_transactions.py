"""A 503 means "nothing changed" only when nothing did; a deadlock is retried once, then named.

The database is made to fail at the edge (the driver's cursor or commit), as in
tests/reliability/test_database_unavailable.py; the PostgreSQL deadlock is a real one.
"""

from __future__ import annotations

import threading
from unittest import mock

import psycopg.errors
import pytest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import OperationalError

from checklists.errors import WriteConflict
from checklists.models import AuditEvent, Release, TestReport
from checklists.workflow.base import _lock
from checklists.workflow.transactions import write_transaction

from .helpers.api import assert_error, client_for, release_url
from .helpers.factories import make_release
from .helpers.release_steps import tick_manual_items

JUNIT = b'<testsuite name="s" tests="1" failures="0" errors="0"><testcase name="a"/></testsuite>'


class DatabaseDiesAfterCommit:
    """Every query after the next COMMIT fails as if the connection had dropped."""

    def __init__(self):
        self.dead = False
        self._commit = BaseDatabaseWrapper.commit
        self._execute = None

    def __enter__(self):
        from django.db.backends import utils

        self._execute = utils.CursorWrapper.execute
        outer = self

        def commit(conn):
            outer._commit(conn)
            outer.dead = True

        def execute(cursor, *args, **kwargs):
            if outer.dead:
                raise OperationalError("server closed the connection unexpectedly")
            return outer._execute(cursor, *args, **kwargs)

        self._patches = [
            mock.patch.object(BaseDatabaseWrapper, "commit", commit),
            mock.patch.object(utils.CursorWrapper, "execute", execute),
        ]
        for patch in self._patches:
            patch.start()
        return self

    def __exit__(self, *exc):
        for patch in reversed(self._patches):
            patch.stop()


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_after_submit_committed_says_the_change_was_saved(team, alice):
    release = make_release(team, alice)
    tick_manual_items(release, alice)
    client = client_for(alice)
    client.get(release_url(release))  # authenticate once, outside the broken window
    with DatabaseDiesAfterCommit():
        response = client.post(release_url(release, "submit/"))
    error = assert_error(response, 503, "saved_answer_lost")
    assert "saved" in error["message"] and "nothing was changed" not in error["message"]
    assert Release.objects.get(pk=release.pk).status == "in_review"


@pytest.mark.django_db(transaction=True)
def test_an_item_change_is_answered_from_the_transaction_not_from_a_read_after_it(team, alice):
    release = make_release(team, alice)
    client = client_for(alice)
    client.get(release_url(release))
    with DatabaseDiesAfterCommit():
        response = client.patch(
            release_url(release, "items/correctness.idempotency-tested/"),
            {"state": "done", "evidence": "run 7"},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "done" and response.json()["set_by"] == "alice"
    assert release.items.get(key="correctness.idempotency-tested").state == "done"


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_before_the_commit_still_says_nothing_changed(team, alice):
    release = make_release(team, alice)
    tick_manual_items(release, alice)
    client = client_for(alice)
    client.get(release_url(release))
    with mock.patch("checklists.workflow.followups.open_for_release", side_effect=OperationalError("gone")):
        response = client.post(release_url(release, "submit/"))
    error = assert_error(response, 503, "unavailable")
    assert "nothing was changed" in error["message"]
    assert Release.objects.get(pk=release.pk).status == "draft"


@pytest.mark.django_db(transaction=True)
def test_a_report_upload_is_stored_with_its_scan_request_or_not_at_all(team, alice, ci_user):
    release = make_release(team, alice)
    events = AuditEvent.objects.count()
    client = client_for(ci_user)
    with mock.patch(
        "checklists.workflow.scans._create_scan_runs", side_effect=OperationalError("connection lost")
    ):
        response = client.post(release_url(release, "test-reports/"), JUNIT, content_type="application/xml")
    assert_error(response, 503, "unavailable")
    assert not TestReport.objects.filter(release=release).exists()
    assert AuditEvent.objects.count() == events

    response = client.post(release_url(release, "test-reports/"), JUNIT, content_type="application/xml")
    assert response.status_code == 201
    assert [run["scanner"] for run in response.json()["scans"]] == ["tests"]
    assert release.scans.filter(scanner="tests", status="queued").count() == 1


def deadlock() -> OperationalError:
    try:
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    except psycopg.errors.DeadlockDetected as cause:
        error = OperationalError("deadlock detected")
        error.__cause__ = cause
        return error


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_that_happens_twice_is_a_write_conflict_not_unavailable(team, alice):
    release = make_release(team, alice)
    calls = []

    @write_transaction
    def always_deadlocks():
        calls.append(1)
        raise deadlock()

    with pytest.raises(WriteConflict):
        always_deadlocks()
    assert len(calls) == 2

    client = client_for(alice)
    with mock.patch("checklists.workflow.followups.open_for_release", side_effect=deadlock()):
        tick_manual_items(release, alice)
        response = client.post(release_url(release, "submit/"))
    assert_error(response, 409, "write_conflict")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real deadlock needs PostgreSQL row locks")
def test_a_real_deadlock_is_retried_once_and_both_writers_succeed(team, alice):
    first, second = make_release(team, alice), make_release(team, alice)
    barrier = threading.Barrier(2)
    attempts = []

    @write_transaction
    def lock_both(a, b):
        attempts.append((a, b))
        _lock(a)
        if len(attempts) <= 2:
            barrier.wait(timeout=10)  # both hold their first lock before taking the second
        _lock(b)
        return "ok"

    results = {}

    def run(a, b):
        try:
            results[(a, b)] = lock_both(a, b)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results[(a, b)] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(first.pk, second.pk)),
        threading.Thread(target=run, args=(second.pk, first.pk)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert list(results.values()) == ["ok", "ok"]
    assert len(attempts) == 3  # one of the two was chosen as the deadlock victim and ran again
