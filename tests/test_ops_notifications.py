"""Emails: reviewers hear of a submit, the author of the decision; enqueued only on commit."""

import pytest
from django.db import transaction

from checklists import notifications, workflow
from checklists.models import Release

from .conftest import tick_manual_items


@pytest.fixture
def enqueued(monkeypatch):
    """What the workflow hands to the broker (the one edge replaced here)."""
    calls = []
    for task in (notifications.notify_submitted, notifications.notify_decision):
        monkeypatch.setattr(task, "delay", lambda *args, _name=task.name: calls.append((_name, args)))
    return calls


def test_submit_emails_each_reviewer_but_not_the_author(in_review, alice, bob, dave, mailoutbox):
    sent = notifications.notify_submitted(in_review.pk)
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
    assert notifications.notify_submitted(in_review.pk) == 1


def test_approval_emails_the_author(approved, alice, bob, mailoutbox):
    signoff = approved.signoffs.get(reviewer=bob)
    assert notifications.notify_decision(signoff.pk) == 1
    (message,) = mailoutbox
    assert message.to == [alice.email]
    assert "approved" in message.subject
    assert "bob approved" in message.body


def test_rejection_emails_the_author_with_the_comment(in_review, alice, bob, mailoutbox):
    result = workflow.sign_off(in_review, actor=bob, decision="reject", comment="Rollback plan is vague.")
    notifications.notify_decision(result.signoff.pk)
    (message,) = mailoutbox
    assert message.to == [alice.email]
    assert "rejected" in message.subject
    assert "Rollback plan is vague." in message.body


def test_tasks_are_quiet_when_the_rows_are_gone(db, mailoutbox):
    assert notifications.notify_submitted(999_999) == 0
    assert notifications.notify_decision(999_999) == 0
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
    def broker_down(*args):
        raise OSError("connection refused")

    monkeypatch.setattr(notifications.notify_submitted, "delay", broker_down)
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
