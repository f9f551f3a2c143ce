"""Email about a release: to the team's reviewers on submit, to the author on the decision,
to the author on a failed scan, to the author and approvers on a rollback, and to the team's
address (Team.notify_email) for the events its owners chose. Each person's choices
(EmailPreference, the profile page) decide which of these reach them.

The workflow calls `on_submitted` / `on_decision` / `on_event` inside its transaction; the
tasks (checklists/tasks.py: notify_submitted, notify_decision, notify_event) are sent only
once it commits (outbox.py), and a broker that is down costs an email, never the state
change. Tasks take ids and say nothing when the rows are gone.

An email that cannot be sent is never dropped silently: it is logged as an error and kept
as an EmailFailure row, which staff see in the admin (and /metrics counts). A mail server
that does not answer is retried with backoff first; a message that can never be sent (a
header with a line break, an address that is not one) is recorded at once, and the other
recipients still get theirs.
"""

from __future__ import annotations

import logging
import smtplib

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django_guid import get_guid

from ..models import EmailFailure, EmailPreference, Membership, Release, SignOff
from ..text import one_line
from . import outbox

logger = logging.getLogger(__name__)

# The server or the network: worth another try later.
MAIL_ERRORS = (smtplib.SMTPException, OSError)
# The message itself (BadHeaderError, an unparsable address): no retry will help.
BROKEN_MESSAGE_ERRORS = (ValueError, TypeError)
MAX_RETRIES = 5
RETRY_BACKOFF_SECONDS = 30


def release_url(release: Release) -> str:
    return settings.RELEASEGATE_BASE_URL.rstrip("/") + reverse("checklists:release", args=[release.pk])


def _correlation_id() -> str:
    return (get_guid() or "")[:64]


def record_failure(
    kind: str, release_id: int | None, error: str, *, recipients=(), subject: str = ""
) -> None:
    """Log an email that was not sent as an error and keep it where staff will see it."""
    logger.error("email %s for release %s not sent to %s: %s", kind, release_id, list(recipients), error)
    EmailFailure.objects.create(
        kind=kind,
        release_id=release_id,
        recipients=list(recipients),
        subject=subject[:1000],
        error=error[:2000],
        correlation_id=_correlation_id(),
    )


def _deliver(task, release: Release, messages: list[EmailMessage]) -> int:
    """Send each message; retry the task while the server fails, record what cannot be sent."""
    kind = task.name.rpartition(".")[2]
    sent = done = 0
    try:
        with get_connection() as connection:
            for message in messages:
                message.connection = connection
                try:
                    sent += message.send()
                except BROKEN_MESSAGE_ERRORS as exc:
                    record_failure(
                        kind, release.pk, repr(exc), recipients=message.to, subject=message.subject
                    )
                done += 1
    except MAIL_ERRORS as exc:
        if task.request.retries < task.max_retries:
            # A retry sends every message again: a reviewer may get one twice, never none.
            countdown = get_exponential_backoff_interval(
                RETRY_BACKOFF_SECONDS, task.request.retries, maximum=3600, full_jitter=True
            )
            raise task.retry(exc=exc, countdown=countdown) from exc
        unsent = [address for message in messages[done:] for address in message.to]
        record_failure(
            kind,
            release.pk,
            f"gave up after {task.request.retries + 1} attempts: {exc!r}",
            recipients=unsent,
            subject=messages[0].subject if messages else "",
        )
    return sent


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


def send_submitted(task, release_id: int) -> int:
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
    # Titles are one line since input checks refuse line breaks; older rows and team names
    # from the admin still pass through one_line so a header is never split.
    subject = one_line(f"[releasegate] Review requested: {release.team.name} · {release.title}")
    body = (
        f"{release.author.get_username()} submitted {release.title!r} "
        f"({release.version_before or '?'} -> {release.version_after or '?'}, commit {release.commit[:12]}) "
        f"for review.\n\nReview it: {release_url(release)}\n"
    )
    sent = _deliver(task, release, [EmailMessage(subject, body, None, [email]) for email in reviewers])
    logger.info("release %s submitted: emailed %s reviewer(s)", release_id, sent)
    return sent


def send_decision(task, signoff_id: int) -> int:
    """Tell the author that their release was approved or rejected, and by whom."""
    signoff = SignOff.objects.select_related("release__team", "release__author", "reviewer").filter(
        pk=signoff_id
    )
    signoff = signoff.first()
    if signoff is None or not signoff.release.author.email:
        return 0
    release = signoff.release
    word = "approved" if signoff.decision == SignOff.Decision.APPROVE else "rejected"
    if not wanting([release.author_id], word):
        return 0
    subject = one_line(f"[releasegate] {release.title} was {word}")
    body = f"{signoff.reviewer.get_username()} {word} {release.title!r} (commit {signoff.commit[:12]}).\n"
    if signoff.comment:
        body += f"\nComment:\n{signoff.comment}\n"
    body += f"\n{release_url(release)}\n"
    sent = _deliver(task, release, [EmailMessage(subject, body, None, [release.author.email])])
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


def send_event(task, release_id: int, event: str) -> int:
    """Tell the team's address (if it chose `event`) and the people an event concerns."""
    release = Release.objects.select_related("team", "author").filter(pk=release_id).first()
    if release is None or event not in EVENT_WORDS:
        return 0
    subject = one_line(f"[releasegate] {release.team.name} · {release.title} {EVENT_WORDS[event]}")
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
    messages = [EmailMessage(subject, body, None, [address]) for address in dict.fromkeys(recipients)]
    sent = _deliver(task, release, messages)
    logger.info("release %s %s: emailed %s address(es)", release_id, event, sent)
    return sent


def _send_on_commit(task: str, release_id: int, *args) -> None:
    """Send an email task once the change commits; a broker that refuses it is an EmailFailure."""

    def refused(exc: Exception) -> None:
        record_failure(task.rpartition(".")[2], release_id, f"could not enqueue {task}{args}: {exc!r}")

    outbox.on_commit(task, *args, refused=refused)


def on_submitted(release: Release) -> None:
    _send_on_commit(outbox.NOTIFY_SUBMITTED, release.pk, release.pk)


def on_decision(signoff: SignOff, *, release_status: str) -> None:
    """Email the author on a rejection, or on the approval that approved the release."""
    if signoff.decision == SignOff.Decision.REJECT or release_status == Release.Status.APPROVED:
        _send_on_commit(outbox.NOTIFY_DECISION, signoff.release_id, signoff.pk)


def on_event(release: Release, event: str) -> None:
    """After a release event: email the team's address and the people it concerns, on commit."""
    team_wants = bool(release.team.notify_email) and event in (release.team.notify_events or [])
    if team_wants or event in ("scan_failed", "rolled_back"):
        _send_on_commit(outbox.NOTIFY_EVENT, release.pk, release.pk, event)
