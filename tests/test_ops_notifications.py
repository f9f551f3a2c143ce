"""Emails: reviewers hear of a submit, the author of the decision; enqueued only on commit."""

import logging
import smtplib

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse

from checklists import tasks, workflow
from checklists.effects import outbox
from checklists.models import EmailFailure, Release

from .helpers import broker
from .helpers.release_steps import tick_manual_items


@pytest.fixture
def enqueued(monkeypatch):
    """What the workflow hands to the broker (the one edge replaced here)."""
    return broker.record_sent(monkeypatch, outbox.NOTIFY_SUBMITTED, outbox.NOTIFY_DECISION)


def test_submit_emails_each_reviewer_but_not_the_author(in_review, alice, bob, dave, mailoutbox):
    sent = tasks.notify_submitted(in_review.pk)
    assert sent == 2
    assert sorted(m.to[0] for m in mailoutbox) == [bob.email, dave.email]
    assert all(len(m.to) == 1 for m in mailoutbox)  # reviewers do not see each other's address
    message = mailoutbox[0]
    assert in_review.title in message.subject
    assert f"/releases/{in_review.pk}/" in message.body
    assert alice.email not in {m.to[0] for m in mailoutbox}


def test_a_reviewer_without_an_email_address_is_skipped(in_review, dave, mailoutbox):
    dave.email = ""
    dave.save()
    assert tasks.notify_submitted(in_review.pk) == 1


def test_approval_emails_the_author(approved, alice, bob, mailoutbox):
    signoff = approved.signoffs.get(reviewer=bob)
    assert tasks.notify_decision(signoff.pk) == 1
    (message,) = mailoutbox
    assert message.to == [alice.email]
    assert "approved" in message.subject
    assert "bob approved" in message.body


def test_rejection_emails_the_author_with_the_comment(in_review, alice, bob, mailoutbox):
    result = workflow.sign_off(in_review, actor=bob, decision="reject", comment="Rollback plan is vague.")
    tasks.notify_decision(result.signoff.pk)
    (message,) = mailoutbox
    assert message.to == [alice.email]
    assert "rejected" in message.subject
    assert "Rollback plan is vague." in message.body


def test_tasks_are_quiet_when_the_rows_are_gone(db, mailoutbox):
    assert tasks.notify_submitted(999_999) == 0
    assert tasks.notify_decision(999_999) == 0
    assert mailoutbox == []


def test_submit_enqueues_the_reviewer_email_once_the_transaction_commits(
    release, alice, enqueued, django_capture_on_commit_callbacks
):
    tick_manual_items(release, alice)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(release, actor=alice)
    assert enqueued == [("checklists.notifications.notify_submitted", (release.pk,))]


def test_a_rolled_back_submit_enqueues_nothing(release, alice, enqueued, django_capture_on_commit_callbacks):
    tick_manual_items(release, alice)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        workflow.submit(release, actor=alice)
        raise RuntimeError("something after the submit failed")
    assert enqueued == []
    release.refresh_from_db()
    assert release.status == Release.Status.DRAFT


def test_only_the_deciding_sign_offs_email_the_author(
    in_review, bob, dave, enqueued, django_capture_on_commit_callbacks
):
    in_review.team.required_approvals = 2
    in_review.team.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = workflow.sign_off(in_review, actor=bob, decision="approve")
    assert enqueued == []  # one approval of two: nothing decided yet
    with django_capture_on_commit_callbacks(execute=True):
        second = workflow.sign_off(in_review, actor=dave, decision="approve")
    assert second.release.status == Release.Status.APPROVED
    assert enqueued == [("checklists.notifications.notify_decision", (second.signoff.pk,))]
    assert first.signoff.pk != second.signoff.pk


def test_a_broker_that_is_down_costs_the_email_not_the_submit(
    release, alice, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    broker.refuse(monkeypatch, outbox.NOTIFY_SUBMITTED, OSError("connection refused"))
    tick_manual_items(release, alice)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(release, actor=alice)
    release.refresh_from_db()
    assert release.status == Release.Status.IN_REVIEW
    assert "could not enqueue checklists.notifications.notify_submitted" in caplog.text


def test_the_worker_finds_the_email_tasks():
    from releasegate.celery import app

    app.loader.import_default_modules()
    assert "checklists.notifications.notify_submitted" in app.tasks
    assert "checklists.notifications.notify_decision" in app.tasks


# --- emails that cannot be sent are never silent ---------------------------------------


def test_a_title_stored_with_a_line_break_still_reaches_the_reviewers_on_one_line(
    in_review, bob, dave, mailoutbox
):
    # Written before titles were checked (or by anything that skips the workflow).
    Release.objects.filter(pk=in_review.pk).update(title="Checkout\r\nBcc: attacker@evil.example")
    assert tasks.notify_submitted(in_review.pk) == 2
    for message in mailoutbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "Checkout Bcc: attacker@evil.example" in message.subject
        assert message.to in ([bob.email], [dave.email]) and not message.bcc
    assert not EmailFailure.objects.exists()


def test_a_message_that_cannot_be_sent_is_logged_as_an_error_and_kept_for_staff(
    in_review, bob, dave, mailoutbox, caplog
):
    User.objects.filter(pk=bob.pk).update(email="bob@example.com\nBcc: attacker@evil.example")
    sent = tasks.notify_submitted(in_review.pk)
    assert sent == 1 and [m.to for m in mailoutbox] == [[dave.email]]  # dave still hears of it
    (failure,) = EmailFailure.objects.all()
    assert failure.kind == "notify_submitted" and failure.release_id == in_review.pk
    assert failure.recipients == ["bob@example.com\nBcc: attacker@evil.example"]
    assert "Review requested" in failure.subject and failure.error
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "checklists.effects.emails"
    ]
    assert len(errors) == 1 and f"release {in_review.pk}" in errors[0].getMessage()


def test_staff_see_failed_emails_in_the_admin_and_in_the_metrics(in_review, bob, client, alice):
    User.objects.filter(pk=bob.pk).update(email="bob@example.com\r\n")
    tasks.notify_submitted(in_review.pk)
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    page = client.get(reverse("admin:checklists_emailfailure_changelist"))
    assert page.status_code == 200 and "notify_submitted" in page.content.decode()
    assert "releasegate_email_failures 1" in client.get("/metrics").content.decode()


@pytest.fixture
def mail_server_down(monkeypatch):
    """The mail server refuses every connection (the edge of the world, replaced)."""
    attempts = []

    def refuse(backend, messages):
        attempts.append(len(messages))
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    return attempts


def test_a_mail_server_that_is_down_is_retried_then_recorded_once_with_its_error(
    in_review, bob, dave, mail_server_down, caplog
):
    task = tasks.notify_submitted
    # Run eagerly, Celery makes each retry at once instead of after its backoff.
    result = task.apply(args=(in_review.pk,))
    assert result.successful() and result.result == 0
    assert len(mail_server_down) == task.max_retries + 1  # every attempt reached the server
    retries = [r.getMessage() for r in caplog.records if "retry: Retry in" in r.getMessage()]
    assert len(retries) == task.max_retries
    (failure,) = EmailFailure.objects.all()
    assert sorted(failure.recipients) == sorted([bob.email, dave.email])
    assert f"gave up after {task.max_retries + 1} attempts" in failure.error
    assert "SMTPServerDisconnected" in failure.error
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "checklists.effects.emails"
    ]
    assert len(errors) == 1


def test_an_email_the_broker_could_not_take_is_recorded(
    release, alice, monkeypatch, django_capture_on_commit_callbacks
):
    broker.refuse(monkeypatch, outbox.NOTIFY_SUBMITTED, OSError("connection refused"))
    tick_manual_items(release, alice)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(release, actor=alice)
    (failure,) = EmailFailure.objects.all()
    assert failure.release_id == release.pk and "could not enqueue" in failure.error


def test_a_server_that_drops_mid_way_is_recorded_only_for_the_reviewers_it_never_reached(
    in_review, bob, dave, monkeypatch
):
    def first_then_gone(backend, messages):
        if messages[0].to == [dave.email]:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return len(messages)

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", first_then_gone)
    task = tasks.notify_submitted
    assert task.apply(args=(in_review.pk,), retries=task.max_retries).result == 1  # bob's went out
    (failure,) = EmailFailure.objects.all()
    assert failure.recipients == [dave.email]
