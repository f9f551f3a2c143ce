"""docker-compose.yml, gunicorn.conf.py and .env.example describe a sound production setup."""

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")
PORT = 8104  # this suite's own port


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_compose_runs_postgres_redis_web_worker_and_beat():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)
    assert "gunicorn.conf.py" in SERVICES["web"]["command"]
    assert " ".join(SERVICES["worker"]["command"]).count("celery -A releasegate worker") == 1
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "releasegate", "beat"]
    assert "deploy" not in SERVICES["beat"] or SERVICES["beat"]["deploy"].get("replicas", 1) == 1


def test_every_long_running_service_has_a_health_check():
    for name in ("postgres", "redis", *APP_SERVICES):
        check = SERVICES[name]["healthcheck"]
        assert check["test"], name
        assert check["interval"] and check["retries"] >= 1, name


def test_web_health_check_calls_healthz():
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])


def test_data_lives_on_named_volumes():
    declared = set(COMPOSE["volumes"])
    used = {volume.split(":")[0] for service in SERVICES.values() for volume in service.get("volumes", [])}
    assert used <= declared
    assert any(
        v.startswith("postgres-data:/var/lib/postgresql/data") for v in SERVICES["postgres"]["volumes"]
    )
    assert any(v.startswith("redis-data:") for v in SERVICES["redis"]["volumes"])


def test_app_services_wait_for_healthy_dependencies_and_migrations():
    for name in APP_SERVICES:
        depends = SERVICES[name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert SERVICES["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_configuration_comes_from_a_git_ignored_env_file():
    for name in ("postgres", *APP_SERVICES):
        assert SERVICES[name]["env_file"] == ".env", name
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    # Values in the compose file only refer to .env variables; no literal secret.
    database_url = SERVICES["web"]["environment"]["DATABASE_URL"]
    assert database_url == "postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/${POSTGRES_DB}"
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["DATABASE_URL"] == database_url


def test_env_example_names_every_required_variable_and_holds_no_secret():
    pairs = env_example()
    for name in (
        "RELEASEGATE_ENV",
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "CELERY_BROKER_URL",
        "ALLOWED_HOSTS",
        "LOG_LEVEL",
    ):
        assert name in pairs, name
    assert pairs["RELEASEGATE_ENV"] == "production"
    assert "RELEASEGATE_DEMO" not in pairs
    for name, value in pairs.items():
        if re.search(r"SECRET|PASSWORD|TOKEN", name):
            assert value == "", f"{name} must be left empty in .env.example"
    assert "DATABASE_URL" not in pairs  # compose builds it; the password is written once


def gunicorn_setting(name: str, **env) -> str:
    code = f"import runpy; print(runpy.run_path('gunicorn.conf.py')[{name!r}])"
    clean = {k: v for k, v in os.environ.items() if k != "WEB_CONCURRENCY"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_gunicorn_workers_follow_web_concurrency_or_the_cpu_count():
    assert gunicorn_setting("workers", WEB_CONCURRENCY="3") == "3"
    assert int(gunicorn_setting("workers")) == min(os.cpu_count() * 2 + 1, 12)


@pytest.fixture
def gunicorn(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELEASEGATE_DEMO", "WEB_CONCURRENCY"}},
        "RELEASEGATE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "RELEASEGATE_DATA_DIR": str(tmp_path / "data"),
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "releasegate.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)  # noqa: S310
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.3)
        yield log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(path: str, **headers):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_serves_healthz_over_http_and_logs_json_lines_with_the_request_id(gunicorn):
    status, headers, body = get("/healthz", **{"X-Request-ID": "req-ops-1"})
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"
    assert headers["X-Request-ID"] == "req-ops-1"
    # Everything else is redirected to HTTPS in production.
    status, headers, _ = get("/metrics", **{"X-Request-ID": "req-ops-2"})
    assert status == 301 and headers["Location"].startswith("https://")
    status, _, _ = get("/metrics", **{"X-Request-ID": "req-ops-3", "X-Forwarded-Proto": "https"})
    assert status == 401
    time.sleep(0.5)
    records = [json.loads(line) for line in gunicorn.read_text().splitlines() if line.startswith("{")]
    refused = [r for r in records if r.get("correlation_id") == "req-ops-3"]
    assert refused, gunicorn.read_text()[-2000:]
    warning = next(r for r in refused if r["name"] == "django.request")
    assert warning["levelname"] == "WARNING"
    assert {"asctime", "name", "message"} <= set(warning)
    # And one access line per request, a success included, with the same id.
    (access,) = [r for r in refused if r["name"] == "releasegate.access"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/metrics", 401)
    assert [
        r["status"]
        for r in records
        if r["name"] == "releasegate.access" and r["correlation_id"] == "req-ops-1"
    ] == [200]
