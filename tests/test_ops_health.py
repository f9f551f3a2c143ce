"""/healthz answers anyone with 200 or 503; /metrics speaks Prometheus to staff and managers."""

import re
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from checklists import workflow
from checklists.models import ScanRun
from checklists.views import monitoring as health
from releasegate.celery import app as celery_app

from .helpers.factories import UserFactory, make_release


def test_healthz_is_anonymous_and_minimal_when_all_is_well(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_quickly_when_the_broker_is_down(client, db, monkeypatch):
    # Nothing listens on port 1: the same refusal a stopped Redis gives.
    # Celery reads CELERY_BROKER_URL from the environment on every connection.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    assert celery_app.conf.broker_url == "redis://127.0.0.1:1/0"
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}


def test_healthz_answers_503_when_the_database_is_down(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "cursor", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_healthz_accepts_only_safe_methods(client, db):
    assert client.post("/healthz").status_code == 405


def token_for(user) -> str:
    return f"Token {Token.objects.create(user=user).key}"


def test_metrics_needs_a_token(client, db):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 401


def test_metrics_are_for_managers_and_staff_not_members(client, alice, carol):
    assert client.get("/metrics", HTTP_AUTHORIZATION=token_for(alice)).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=token_for(carol)).status_code == 200
    staff = UserFactory(username="ops", is_staff=True)
    assert client.get("/metrics", HTTP_AUTHORIZATION=token_for(staff)).status_code == 200


def sample(text: str, name: str, **labels) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + label_text + '}') if labels else ''} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name} {labels} missing from:\n{text}"
    return float(match.group(1))


@pytest.fixture
def queued_scans(team, alice):
    release = make_release(team, alice)
    runs = workflow.request_scans(release, actor=alice)
    assert runs
    ScanRun.objects.filter(pk=runs[0].pk).update(queued_at=timezone.now() - timedelta(minutes=10))
    make_release(team, alice, title="Second")
    return runs


def test_metrics_report_queue_depth_age_and_counts_by_status(
    client, carol, queued_scans, django_assert_max_num_queries
):
    authorization = token_for(carol)
    with django_assert_max_num_queries(8):
        response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert "# TYPE releasegate_scan_queue_depth gauge" in text
    assert sample(text, "releasegate_scan_queue_depth") == len(queued_scans)
    assert 600 <= sample(text, "releasegate_scan_oldest_queued_age_seconds") < 700
    assert sample(text, "releasegate_scan_runs", status="queued") == len(queued_scans)
    assert sample(text, "releasegate_scan_runs", status="passed") == 0
    assert sample(text, "releasegate_releases", status="draft") == 2
    assert sample(text, "releasegate_releases", status="approved") == 0
    assert sample(text, "releasegate_exception_queue_depth") == 0


def test_an_empty_queue_has_age_zero(db):
    text = health.render_metrics()
    assert sample(text, "releasegate_scan_queue_depth") == 0
    assert sample(text, "releasegate_scan_oldest_queued_age_seconds") == 0
