"""Visitors see releasegate's own 400/403/404/500 pages whenever DEBUG is off, and the demo runs so.

`make run` (scripts/run.sh) sets RELEASEGATE_DEMO=1, which now turns DEBUG off by default:
the demo showed Django's technical 404 page (every URL pattern, the settings module) to
anyone. The API keeps answering JSON.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from .helpers.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
OWN_PAGE = "Back to the dashboard"
TECHNICAL = ("Using the URLconf defined in", "Django tried these URL patterns", "Traceback")


def looks_like_ours(response) -> str:
    html = response.content.decode()
    assert OWN_PAGE in html and "· releasegate</title>" in html, html[:500]
    assert not any(marker in html for marker in TECHNICAL)
    return html


def test_a_missing_page_is_the_projects_404_for_visitors_and_users(client, alice):
    looks_like_ours(client.get("/no/such/page/"))
    client.force_login(alice)
    response = client.get("/releases/999999/")
    assert response.status_code == 404
    looks_like_ours(response)


def test_a_refused_form_post_is_the_projects_403(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/profile/token/")
    assert response.status_code == 403
    assert "This form has expired" in looks_like_ours(response)


def test_a_bad_request_is_the_projects_400(client, db):
    response = client.get("/", HTTP_HOST="evil.example")  # not in ALLOWED_HOSTS
    assert response.status_code == 400
    looks_like_ours(response)


def test_a_server_error_is_the_projects_500_without_a_traceback(alice, carol, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("checklists.web.delivery_metrics.summarize", broken)
    client = Client(raise_request_exception=False)
    client.force_login(carol)
    response = client.get("/metrics/")
    assert response.status_code == 500
    html = looks_like_ours(response)
    assert "secret internals" not in html and "Something went wrong on our side" in html


def test_the_api_still_answers_json(client, alice):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def settings_process(script: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELEASEGATE_DEMO", "RELEASEGATE_ENV"}}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()\n" + script],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "releasegate.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "debug"),
    [
        ({"RELEASEGATE_DEMO": "1"}, False),  # what scripts/run.sh (make run) sets
        ({"RELEASEGATE_DEMO": "1", "DEBUG": "true"}, True),  # a developer who asks for Django's pages
        ({}, True),  # plain development
    ],
)
def test_the_demo_runs_with_debug_off(env, debug):
    result = settings_process("from django.conf import settings; print(settings.DEBUG)", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(debug)


def test_the_demo_shows_the_projects_404_on_its_default_hosts(tmp_path):
    script = (
        "from django.test import Client\n"
        "r = Client().get('/no/such/page/', HTTP_HOST='127.0.0.1:8000')\n"
        "print(r.status_code, 'Back to the dashboard' in r.content.decode(), b'URLconf' in r.content)\n"
    )
    result = settings_process(
        script,
        RELEASEGATE_DEMO="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        RELEASEGATE_DATA_DIR=str(tmp_path / "var"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "404 True False"


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_demo_web_server_of_make_run_shows_our_404_and_serves_static_files(tmp_path):
    """Start the web server exactly as scripts/run.sh does (its runserver line), on a free port."""
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert "export RELEASEGATE_DEMO=1" in script
    (line,) = [row for row in script.splitlines() if row.startswith("$PY manage.py runserver")]
    port = free_port()
    args = shlex.split(line.replace("$PY", sys.executable).replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELEASEGATE_ENV"}}
    env.update(RELEASEGATE_DEMO="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               RELEASEGATE_DATA_DIR=str(tmp_path / "var"))  # fmt: skip
    server = subprocess.Popen(  # noqa: S603
        [*args, "--noreload"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, html = fetch(f"http://127.0.0.1:{port}/no/such/page/")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the demo server did not start"
                time.sleep(0.3)
        assert status == 404 and OWN_PAGE in html and not any(marker in html for marker in TECHNICAL)
        assert fetch(f"http://127.0.0.1:{port}/static/css/app.css")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
