"""Email about a release: to the team's reviewers on submit, to the author on the decision,
to the author on a failed scan, to the author and approvers on a rollback, and to the team's
address (Team.notify_email) for the events its owners chose. Each person's choices
(EmailPreference, the profile page) decide which of these reach them.

The workflow calls `on_submitted` / `on_decision` inside its transaction; the tasks are
enqueued only once it commits, and a broker that is down costs an email (logged), never
the state change. Tasks take ids and say nothing when the rows are gone.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse

from .models import EmailPreference, Membership, Release, SignOff

logger = logging.getLogger(__name__)

MAIL_ERRORS = (smtplib.SMTPException, OSError)


def release_url(release: Release) -> str:
    return settings.RELEASEGATE_BASE_URL.rstrip("/") + reverse("checklists:release", args=[release.pk])


def _send(messages: list[tuple[str, str, None, list[str]]]) -> int:
    return send_mass_mail(messages, fail_silently=False) if messages else 0


def wanting(user_ids, event: str) -> list[str]:
    """The email addresses of these active users who want email about `event`, sorted.

    Without an EmailPreference row a person gets every event; the people of one release are few,
    so the choices are read in Python (SQLite has no JSON containment lookup).
    """
    opted_out = {
        p.user_id for p in EmailPreference.objects.filter(user_id__in=user_ids) if event not in p.events
    }
    users = User.objects.filter(pk__in=user_ids, is_active=True).exclude(email="").exclude(pk__in=opted_out)
    return sorted(set(users.values_list("email", flat=True)))


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=MAIL_ERRORS,
    retry_backoff=30,
    max_retries=5,
)
def notify_submitted(release_id: int) -> int:
    """Tell each reviewer of the team (never the author) that a release waits for review."""
    release = Release.objects.select_related("team", "author").filter(pk=release_id).first()
    if release is None:
        return 0
    reviewer_ids = (
        Membership.objects.filter(team_id=release.team_id, role=Membership.Role.REVIEWER)
        .exclude(user_id=release.author_id)
        .values_list("user_id", flat=True)
    )
    reviewers = wanting(list(reviewer_ids), "review_requested")
    subject = f"[releasegate] Review requested: {release.team.name} · {release.title}"
    body = (
        f"{release.author.get_username()} submitted {release.title!r} "
        f"({release.version_before or '?'} -> {release.version_after or '?'}, commit {release.commit[:12]}) "
        f"for review.\n\nReview it: {release_url(release)}\n"
    )
    sent = _send([(subject, body, None, [email]) for email in reviewers])
    logger.info("release %s submitted: emailed %s reviewer(s)", release_id, sent)
    return sent


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=MAIL_ERRORS,
    retry_backoff=30,
    max_retries=5,
)
def notify_decision(signoff_id: int) -> int:
    """Tell the author that their release was approved or rejected, and by whom."""
    signoff = SignOff.objects.select_related("release__team", "release__author", "reviewer").filter(
        pk=signoff_id
    )
    signoff = signoff.first()
    if signoff is None:
        return 0
    release = signoff.release
    word = "approved" if signoff.decision == SignOff.Decision.APPROVE else "rejected"
    if not wanting([release.author_id], word):
        return 0
    subject = f"[releasegate] {release.title} was {word}"
    body = f"{signoff.reviewer.get_username()} {word} {release.title!r} (commit {signoff.commit[:12]}).\n"
    if signoff.comment:
        body += f"\nComment:\n{signoff.comment}\n"
    body += f"\n{release_url(release)}\n"
    sent = _send([(subject, body, None, [release.author.email])])
    logger.info("release %s %s: emailed the author", release.pk, word)
    return sent


EVENT_WORDS = {
    "submitted": "was submitted for review",
    "approved": "was approved",
    "rejected": "was rejected",
    "deployed": "was deployed",
    "rolled_back": "was rolled back",
    "scan_failed": "has a failed scan",
}


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=MAIL_ERRORS,
    retry_backoff=30,
    max_retries=5,
)
def notify_event(release_id: int, event: str) -> int:
    """Tell the team's address (if it chose `event`) and the people an event concerns."""
    release = Release.objects.select_related("team", "author").filter(pk=release_id).first()
    if release is None or event not in EVENT_WORDS:
        return 0
    subject = f"[releasegate] {release.team.name} · {release.title} {EVENT_WORDS[event]}"
    body = f"{release.title} ({release.version_before or '?'} -> {release.version_after or '?'}, commit "
    body += f"{release.commit[:12]}) {EVENT_WORDS[event]}.\n"
    if event == "rolled_back" and release.rollback_reason:
        body += f"\nReason:\n{release.rollback_reason}\n"
    if event == "scan_failed":
        failed = release.scans.filter(current=True, status__in=["failed", "error"]).values_list(
            "scanner", flat=True
        )
        body += f"\nFailed: {', '.join(sorted(set(failed))) or 'a scan'}.\n"
    body += f"\n{release_url(release)}\n"
    people: list[str] = []
    if event == "scan_failed":
        people = wanting([release.author_id], "scan_failed")
    elif event == "rolled_back":
        approvers = release.signoffs.filter(decision=SignOff.Decision.APPROVE).values_list(
            "reviewer_id", flat=True
        )
        people = wanting([release.author_id, *approvers], "rolled_back")
    recipients = list(people)
    if release.team.notify_email and event in (release.team.notify_events or []):
        recipients.append(release.team.notify_email)
    sent = _send([(subject, body, None, [address]) for address in dict.fromkeys(recipients)])
    logger.info("release %s %s: emailed %s address(es)", release_id, event, sent)
    return sent


def _enqueue(task, *args) -> None:
    def send():
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 - any broker failure; the change itself is committed
            logger.warning("could not enqueue %s%s; the email is not sent", task.name, args, exc_info=True)

    transaction.on_commit(send)


def on_submitted(release: Release) -> None:
    _enqueue(notify_submitted, release.pk)


def on_decision(signoff: SignOff, *, release_status: str) -> None:
    """Email the author on a rejection, or on the approval that approved the release."""
    if signoff.decision == SignOff.Decision.REJECT or release_status == Release.Status.APPROVED:
        _enqueue(notify_decision, signoff.pk)


def on_event(release: Release, event: str) -> None:
    """After a release event: email the team's address and the people it concerns, on commit."""
    team_wants = bool(release.team.notify_email) and event in (release.team.notify_events or [])
    if team_wants or event in ("scan_failed", "rolled_back"):
        _enqueue(notify_event, release.pk, event)
