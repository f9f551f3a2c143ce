"""Outages: the broker goes away and comes back; the database refuses connections and comes back.

Broker: gunicorn and the workers use a redis-server this test starts on its own port
(never the machine's shared Redis). With it stopped, pages and the API answer (the
health check says 503 on purpose), a scan request is accepted and kept as a queued
run; when Redis returns, a worker's sweep sends it and it finishes.

Database: PostgreSQL cannot be restarted here without disturbing everyone, so the test
makes its own test database refuse new connections (ALLOW_CONNECTIONS false) and
terminates the application's sessions with pg_terminate_backend. Requests then get a
clean 503 (JSON under /api/, a plain page elsewhere), never a 500, and nothing is half
written; once connections are allowed again the same gunicorn answers 200.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from rest_framework.authtoken.models import Token

from checklists.models import AuditEvent, ScanRun
from tests.helpers.factories import make_release
from tests.helpers.processes import ProtectedEndpoint

from ..helpers.processes import HOST, PROBE_PORT, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def endpoints():
    endpoint = ProtectedEndpoint(PROBE_PORT)
    yield endpoint.urls(1)
    endpoint.close()


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def call(
    url: str, *, method: str = "GET", body: dict | None = None, headers: dict
) -> tuple[int, bytes, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_broker_down_pages_answer_and_scan_requests_run_when_it_returns(
    team, alice, endpoints, private_redis, start_gunicorn, start_workers
):
    team.probe_endpoints = endpoints
    team.save()
    release = make_release(team, alice)
    server = start_gunicorn(broker=private_redis.url)
    token = {"Authorization": f"Token {Token.objects.create(user=alice).key}"}
    cookie = {"Cookie": session_cookie(alice)}
    private_redis.stop()

    for path, headers in [
        (f"/releases/{release.pk}/", cookie),
        ("/history/", cookie),
        ("/", cookie),
        (f"/api/v1/releases/{release.pk}/", token),
        (f"/api/v1/releases/{release.pk}/gate/?commit={release.commit}", token),
    ]:
        status, _, _ = call(server.url + path, headers=headers)
        assert status in (200, 409), (path, status)
    assert call(server.url + "/healthz", headers={})[0] == 503  # says so, on purpose
    key = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    status, _, _ = call(server.url + f"/api/v1/releases/{release.pk}/items/{key}/", method="PATCH",
                        body={"state": "done", "evidence": "while the broker was down"}, headers=token)  # fmt: skip
    assert status == 200
    status, body, _ = call(server.url + f"/api/v1/releases/{release.pk}/scans/", method="POST",
                           body={"scanners": ["auth_probe"]}, headers=token)  # fmt: skip
    assert status == 202, body
    run = ScanRun.objects.get(release=release, scanner="auth_probe")
    assert run.status == ScanRun.Status.QUEUED  # kept

    private_redis.start()
    start_workers("after-outage", private_redis.url)
    wait_for(lambda: ScanRun.objects.get(pk=run.pk).status in ScanRun.FINAL, 90, "the kept scan to run")
    run.refresh_from_db()
    assert run.status == ScanRun.Status.PASSED
    assert release.items.get(satisfied_by="scan:auth_probe").state == "done"
    assert AuditEvent.objects.filter(release=release, verb="scan.finished").count() == 1


def set_connections(allowed: bool) -> None:
    """Allow or refuse new connections to this test's database (from the maintenance database)."""
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or HOST, port=s["PORT"] or 5432, user=s["USER"], password=s.get("PASSWORD") or None,
        dbname="postgres", autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute(f'ALTER DATABASE "{s["NAME"]}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:  # drop the application's sessions; this test keeps its own
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [s["NAME"], connection.connection.info.backend_pid],
            )


def test_database_outage_answers_503_and_recovers_without_a_restart(team, alice, start_gunicorn):
    release = make_release(team, alice)
    server = start_gunicorn(workers=2)
    token = {"Authorization": f"Token {Token.objects.create(user=alice).key}"}
    cookie = {"Cookie": session_cookie(alice)}
    api, page = f"/api/v1/releases/{release.pk}/", f"/releases/{release.pk}/"
    for _ in range(4):  # every worker holds a connection now
        assert call(server.url + api, headers=token)[0] == 200
    key = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    before = (release.items.get(key=key).state, AuditEvent.objects.count())
    master = server.proc.pid

    set_connections(False)
    try:
        seen = []
        for _ in range(3):
            status, body, headers = call(server.url + api, headers=token)
            assert status == 503 and json.loads(body)["error"]["code"] == "unavailable", (status, body[:300])
            assert headers.get("Retry-After")
            status, body, _ = call(server.url + page, headers=cookie)
            assert status == 503 and b"briefly unavailable" in body, (status, body[:300])
            status, body, _ = call(server.url + api + f"items/{key}/", method="PATCH",
                                   body={"state": "done", "evidence": "during the outage"}, headers=token)  # fmt: skip
            assert status == 503, (status, body[:300])
            seen.append(status)
    finally:
        set_connections(True)

    assert (release.items.get(key=key).state, AuditEvent.objects.count()) == before  # nothing half-written
    wait_for(lambda: call(server.url + api, headers=token)[0] == 200, 30, "the API to recover")
    assert call(server.url + page, headers=cookie)[0] == 200
    assert server.proc.pid == master and server.proc.poll() is None  # the same gunicorn, not restarted
