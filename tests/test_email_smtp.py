"""Email that arrives: the notification tasks send through a real SMTP server (aiosmtpd on
127.0.0.1), which receives and parses each message; each person's choices and the team's
address decide who gets what."""

from __future__ import annotations

import email
import email.policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from checklists import tasks, workflow
from checklists.workflow.preferences import set_email_preferences

from .helpers.identity_provider import free_port


class Inbox:
    """aiosmtpd's handler: keeps each message as the server received it."""

    def __init__(self):
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port(range(8143, 8150))
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "releasegate@corp.example.com"
    yield inbox
    controller.stop()


def test_a_review_request_arrives_at_each_reviewer_through_smtp(smtp, in_review, bob, dave, alice):
    assert tasks.notify_submitted(in_review.pk) == 2
    (message,) = smtp.to(bob.email)
    assert message["From"] == "releasegate@corp.example.com" and message["To"] == bob.email
    assert in_review.title in message["Subject"]
    assert f"/releases/{in_review.pk}/" in message.get_content()
    assert smtp.to(dave.email) and not smtp.to(alice.email)


def test_a_reviewer_who_turned_review_requests_off_gets_none(smtp, in_review, bob, dave):
    set_email_preferences(actor=dave, events=["approved", "rejected"])
    assert tasks.notify_submitted(in_review.pk) == 1
    assert smtp.to(bob.email) and not smtp.to(dave.email)


def test_the_author_chooses_whether_a_decision_emails_them(smtp, in_review, alice, bob):
    set_email_preferences(actor=alice, events=["rejected"])
    signoff = workflow.sign_off(in_review, actor=bob, decision="approve", comment="fine").signoff
    assert tasks.notify_decision(signoff.pk) == 0 and smtp.messages == []


def test_a_rollback_emails_the_author_the_approvers_and_the_team_address(smtp, approved, alice, bob, team):
    workflow.update_team_settings(
        team,
        actor=bob,
        changes={"notify_email": "payments-releases@corp.example.com", "notify_events": ["rolled_back"]},
    )
    workflow.deploy(approved, actor=alice)
    assert tasks.notify_event(approved.pk, "deployed") == 0  # the team did not choose it
    workflow.rollback(approved, actor=alice, reason="Error rate doubled.")
    assert tasks.notify_event(approved.pk, "rolled_back") == 3
    for address in (alice.email, bob.email, "payments-releases@corp.example.com"):
        (message,) = smtp.to(address)
        assert "rolled back" in message["Subject"] and "Error rate doubled." in message.get_content()


def test_a_failed_scan_emails_the_author_unless_they_opted_out(smtp, release, alice):
    run = workflow.request_scans(release, actor=alice, scanners=["secrets"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status="failed", findings=[{"file": "a.py", "line": 1, "rule": "x"}])
    assert tasks.notify_event(release.pk, "scan_failed") == 1
    assert "secrets" in smtp.to(alice.email)[0].get_content()
    set_email_preferences(actor=alice, events=[])
    assert tasks.notify_event(release.pk, "scan_failed") == 0


def test_email_choices_are_saved_on_the_profile_page_and_audited(client, alice):
    from checklists.models import AuditEvent

    client.force_login(alice)
    page = client.get("/profile/").content.decode()
    assert 'data-testid="email-preferences"' in page and 'value="review_requested"' in page
    response = client.post("/profile/email/", {"events": ["approved", "rejected"]})
    assert response.status_code == 302
    event = AuditEvent.objects.get(verb="profile.email_changed")
    assert (
        event.payload["after"] == ["approved", "rejected"] and "review_requested" in event.payload["before"]
    )
    assert client.post("/profile/email/", {"events": ["everything"]}).status_code == 400
