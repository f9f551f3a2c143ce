"""One access log line per request, and a request id that is always safe to use.

An operator follows a request by its id from the web (this line) to the worker (the task
header carries the id: tests/integration/test_correlation.py). Before, a successful
request wrote no line at all, and a folded X-Request-ID header was a 500.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.helpers.api import API, client_for, release_url

ROOT = Path(__file__).resolve().parent.parent
ACCESS = "releasegate.access"


@pytest.fixture
def access(caplog):
    caplog.set_level(logging.INFO)

    def lines() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == ACCESS]

    return lines


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_every_request_writes_one_line_with_id_method_path_status_duration_and_user(access, alice, release):
    response = client_for(alice).get(release_url(release), HTTP_X_REQUEST_ID="pipeline-42.run:7")
    assert response.status_code == 200
    (line,) = access()
    assert line.correlation_id == "pipeline-42.run:7"
    assert (line.method, line.path, line.status) == ("GET", f"/api/v1/releases/{release.pk}/", 200)
    assert line.user_id == alice.pk
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    message = line.getMessage()
    assert f"GET /api/v1/releases/{release.pk}/ 200" in message and f"user={alice.pk}" in message


def test_refusals_anonymous_requests_and_errors_get_their_line_too(
    access, alice, carol, release, monkeypatch
):
    Client().get("/accounts/login/")
    client_for().get(f"{API}/releases/")
    signed_in(alice).get("/releases/999999/")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("checklists.web.delivery_metrics.summarize", broken)
    assert signed_in(carol).get("/metrics/").status_code == 500
    seen = [(r.method, r.path, r.status, r.user_id) for r in access()]
    assert seen == [
        ("GET", "/accounts/login/", 200, None),
        ("GET", "/api/v1/releases/", 401, None),
        ("GET", "/releases/999999/", 404, alice.pk),
        ("GET", "/metrics/", 500, carol.pk),
    ]
    assert len({r.correlation_id for r in access()}) == 4  # each request its own id


def test_a_path_with_line_breaks_cannot_forge_a_log_line(access, alice):
    signed_in(alice).get("/releases/%0d%0a2026-01-01 INFO forged line/")
    (line,) = access()
    assert "\n" not in line.getMessage() and "\r" not in line.getMessage()
    assert "\\r\\n2026-01-01 INFO forged line" in line.path


# Folded (obs-fold) headers, line breaks, control characters, spaces, non-ASCII, too long.
BAD_REQUEST_IDS = ["abc\r\n def", "abc\n", "a\rb", "a\x00b", "\x1b[31mred", "a b", "caf\xe9", "x" * 129, " "]


@pytest.mark.parametrize("given", BAD_REQUEST_IDS, ids=repr)
@pytest.mark.parametrize("path", ["/", "/api/v1/releases/", "/healthz", "/accounts/login/"])
def test_a_malformed_request_id_is_replaced_by_a_new_one(access, caplog, alice, release, path, given):
    response = signed_in(alice).get(path, HTTP_X_REQUEST_ID=given)
    assert response.status_code < 500
    new_id = response["X-Request-ID"]
    assert new_id != given and len(new_id) == 32 and new_id.isalnum()
    (line,) = access()
    assert line.correlation_id == new_id
    refused = [r for r in caplog.records if "X-Request-ID" in r.getMessage() and "refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].correlation_id == new_id


def test_a_well_formed_request_id_is_kept_and_returned(alice, release):
    for given in ("3f2b6c1e-9d4a-4f7e-8a1b-2c3d4e5f6a7b", "gh-run-1234/attempt-2", "x" * 128):
        assert client_for(alice).get(release_url(release), HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


def test_production_writes_the_access_line_as_json(tmp_path):
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "Client().get('/no-such-page/', secure=True, HTTP_X_REQUEST_ID='ci-run-7')\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELEASEGATE_DEMO", "LOG_LEVEL"}},
        "RELEASEGATE_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RELEASEGATE_DATA_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "releasegate.settings",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (line,) = [r for r in records if r["name"] == ACCESS]
    assert line["correlation_id"] == "ci-run-7"
    assert (line["method"], line["path"], line["status"], line["user_id"]) == (
        "GET",
        "/no-such-page/",
        404,
        None,
    )
    assert line["levelname"] == "INFO" and line["duration_ms"] >= 0


def test_line_breaks_and_nul_in_any_header_become_spaces_before_anything_reads_them(alice, db):
    from axes.models import AccessAttempt

    client = Client(raise_request_exception=False)
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "wrong"},
        HTTP_USER_AGENT="curl\x00/8\r\nX-Injected: 1",
        HTTP_ACCEPT="text/html\x00",
    )
    assert response.status_code == 200  # the form again: a wrong password
    # django-axes stores both; PostgreSQL refuses NUL in text (that was a 500 there).
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.user_agent == "curl /8  X-Injected: 1"
    assert attempt.http_accept == "text/html "


@pytest.mark.parametrize("username", ["a" * 10_000, "alice\x00"], ids=["10k characters", "NUL"])
def test_a_sign_in_with_an_absurd_user_name_is_refused_and_recorded_within_its_column(db, username):
    from axes.models import AccessAttempt

    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": username, "password": "wrong"})
    assert response.status_code == 200  # the form again
    for attempt in AccessAttempt.objects.all():  # PostgreSQL refused more than 255 (a 500)
        assert len(attempt.username) <= 255 and "\x00" not in attempt.username
