"""Outbound webhooks: signed JSON events, retried with backoff, delivery log, URL safety.

Deliveries go only to a local http.server on 127.0.0.1 (with allow_private set on the hook);
DNS answers are replaced at the socket edge to test rebinding, never sent anywhere else."""

import errno
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from checklists import tasks, workflow
from checklists.effects import outbox, webhooks
from checklists.errors import InvalidInput, NotAllowed
from checklists.models import AuditEvent, Webhook, WebhookDelivery

from .helpers import broker
from .helpers.api import assert_error, client_for
from .helpers.release_steps import ready_for_review

PORT = 8105


class Receiver:
    def __init__(self):
        self.requests = []
        self.status = 200


@pytest.fixture
def receiver():
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
            self.send_response(got.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        server = HTTPServer(("127.0.0.1", PORT), Handler)
    except OSError as exc:  # another test process holds the port: any free port on 127.0.0.1
        if exc.errno != errno.EADDRINUSE:
            raise
        server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_port}/hooks/releasegate"
    yield got
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin_user(db):
    from .helpers.factories import UserFactory

    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def hook(team, admin_user, receiver):
    return workflow.create_webhook(team, actor=admin_user, url=receiver.url, allow_private=True)


@pytest.fixture
def enqueued(monkeypatch):
    return broker.record_ids(monkeypatch, outbox.DELIVER_WEBHOOK)


def test_submit_logs_a_signed_delivery_that_reaches_the_receiver(
    hook, receiver, release, alice, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ready_for_review(release, alice)
    delivery = WebhookDelivery.objects.get(event="submitted")
    assert enqueued == [delivery.pk]
    assert webhooks.deliver(delivery.pk).status == "delivered"
    sent = receiver.requests[0]
    expected = "sha256=" + hmac.new(hook.secret.encode(), sent["body"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-Releasegate-Signature"] == expected
    assert sent["headers"]["X-Releasegate-Event"] == "submitted"
    assert json.loads(sent["body"])["release"]["id"] == release.pk
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert webhooks.deliver(delivery.pk).status == "delivered" and len(receiver.requests) == 1  # once


def test_every_event_is_emitted_to_subscribed_hooks_only(
    team, admin_user, receiver, approved, alice, enqueued
):
    workflow.create_webhook(
        team, actor=admin_user, url=receiver.url + "2", events=["deployed"], allow_private=True
    )
    everything = workflow.create_webhook(team, actor=admin_user, url=receiver.url, allow_private=True).webhook
    workflow.deploy(approved, actor=alice)
    workflow.rollback(approved, actor=alice, reason="errors")
    assert sorted(WebhookDelivery.objects.filter(webhook=everything).values_list("event", flat=True)) == [
        "deployed",
        "rolled_back",
    ]
    assert WebhookDelivery.objects.exclude(webhook=everything).get().event == "deployed"


def test_approve_reject_and_scan_failed_events(hook, in_review, bob, dave, alice, enqueued):
    workflow.sign_off(in_review, actor=bob, decision="reject", comment="no")
    workflow.submit(in_review, actor=alice)
    run = workflow.request_scans(in_review, actor=alice, scanners=["secrets"], force=True)[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status="failed", findings=[{"file": "a", "line": 1}])
    events = list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True))
    assert events[-3:] == ["rejected", "submitted", "scan_failed"]


def test_failures_are_retried_with_backoff_then_given_up(hook, receiver, settings, release, alice, enqueued):
    settings.RELEASEGATE_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 500
    ready_for_review(release, alice)
    delivery = WebhookDelivery.objects.get(event="submitted")
    first = webhooks.deliver(delivery.pk)
    assert first.status == "pending" and first.retry_in == settings.RELEASEGATE_WEBHOOK_BACKOFF_SECONDS
    assert webhooks.backoff(3) == 4 * settings.RELEASEGATE_WEBHOOK_BACKOFF_SECONDS  # exponential
    # The Celery task retries (run here in-process, never in eager mode).
    tasks.deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 3, "HTTP 500")
    assert len(receiver.requests) == 3


def test_a_loopback_url_without_allow_private_is_refused_at_delivery(
    team, receiver, release, alice, enqueued
):
    hook = Webhook.objects.create(
        team=team, url=receiver.url, secret="s"
    )  # as if stored before a policy change
    ready_for_review(release, alice)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert webhooks.deliver(delivery.pk).retry_in is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.error.startswith("refused") and receiver.requests == []


def test_dns_rebinding_to_a_private_address_is_refused(team, monkeypatch):
    hook = Webhook.objects.create(team=team, url="https://hooks.example.net/x", secret="s")
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))],
    )
    with pytest.raises(webhooks.UnsafeURL, match="metadata"):
        webhooks.post(hook, b"{}", {})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.net/",
        "http://localhost:8000/",
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://10.1.2.3/",
        "http://metadata.google.internal/",
        "http://releasegate.example.org/api/",
        "http://user:pw@hooks.example.net/",
        "http://[::1/",  # an unclosed address: was a ValueError (500) in the admin
        "http://hooks.example.net:99999/",
        "http://2130706433/",
        "http://0x7f.1/",
    ],
)
def test_unsafe_urls_are_refused_at_registration(team, bob, settings, url):
    settings.ALLOWED_HOSTS = ["releasegate.example.org"]
    with pytest.raises(InvalidInput) as refused:
        workflow.create_webhook(team, actor=bob, url=url)
    assert refused.value.code == "unsafe_url"


def test_only_reviewers_register_and_only_admins_allow_private(team, alice, bob):
    with pytest.raises(NotAllowed):
        workflow.create_webhook(team, actor=alice, url="https://hooks.example.net/")
    with pytest.raises(NotAllowed):
        workflow.create_webhook(team, actor=bob, url="http://127.0.0.1/", allow_private=True)
    created = workflow.create_webhook(team, actor=bob, url="https://hooks.example.net/")
    assert len(created.secret) >= 32 and AuditEvent.objects.filter(verb="webhook.created").exists()
    assert created.secret not in json.dumps(AuditEvent.objects.get(verb="webhook.created").payload)


def test_api_registers_shows_the_secret_once_and_lists_deliveries(team, alice, bob, release, enqueued):
    url = "/api/v1/teams/payments/webhooks/"
    created = client_for(bob).post(
        url, {"url": "https://hooks.example.net/rg", "events": ["submitted"]}, format="json"
    )
    assert created.status_code == 201 and created.json()["secret"]
    listed = client_for(alice).get(url).json()
    assert listed[0]["url"] == "https://hooks.example.net/rg" and "secret" not in listed[0]
    assert_error(client_for(alice).post(url, {"url": "https://hooks.example.net/"}, format="json"), 403)
    assert_error(
        client_for(bob).post(url, {"url": "http://169.254.169.254/"}, format="json"), 400, "unsafe_url"
    )
    ready_for_review(release, alice)
    deliveries = client_for(alice).get(f"/api/v1/webhooks/{created.json()['id']}/deliveries/").json()
    assert (
        deliveries["results"][0]["event"] == "submitted" and deliveries["results"][0]["status"] == "pending"
    )


def test_the_admin_answers_a_malformed_url_with_a_message_not_a_500(client, team, admin_user):
    client.force_login(admin_user)
    data = {"team": team.pk, "url": "http://[::1/", "events": ["submitted"], "active": "on"}
    response = client.post(reverse("admin:checklists_webhook_add"), data, follow=True)
    assert response.status_code == 200
    assert not Webhook.objects.exists()


def test_admin_creates_a_hook_through_the_workflow_and_never_shows_the_secret_again(client, team, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:checklists_webhook_add"),
        {"team": team.pk, "url": "https://hooks.example.net/a", "events": ["deployed"], "active": "on"},
        follow=True,
    )
    hook = Webhook.objects.get()
    assert hook.secret in response.content.decode()  # shown once
    page = client.get(reverse("admin:checklists_webhook_change", args=[hook.pk])).content.decode()
    assert hook.secret not in page
    assert AuditEvent.objects.filter(verb="webhook.created", actor=admin_user).exists()
