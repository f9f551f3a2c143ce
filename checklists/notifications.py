"""Email about a release: to the team's reviewers on submit, to the author on the decision.

The workflow calls `on_submitted` / `on_decision` inside its transaction; the tasks are
enqueued only once it commits, and a broker that is down costs an email, never the state
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

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django_guid import get_guid

from .models import EmailFailure, Membership, Release, SignOff
from .text import one_line

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


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def notify_submitted(self, release_id: int) -> int:
    """Tell each reviewer of the team (never the author) that a release waits for review."""
    release = Release.objects.select_related("team", "author").filter(pk=release_id).first()
    if release is None:
        return 0
    reviewers = (
        Membership.objects.filter(team_id=release.team_id, role=Membership.Role.REVIEWER)
        .exclude(user_id=release.author_id)
        .exclude(user__email="")
        .filter(user__is_active=True)
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
    # Titles are one line since input checks refuse line breaks; older rows and team names
    # from the admin still pass through one_line so a header is never split.
    subject = one_line(f"[releasegate] Review requested: {release.team.name} · {release.title}")
    body = (
        f"{release.author.get_username()} submitted {release.title!r} "
        f"({release.version_before or '?'} -> {release.version_after or '?'}, commit {release.commit[:12]}) "
        f"for review.\n\nReview it: {release_url(release)}\n"
    )
    sent = _deliver(self, release, [EmailMessage(subject, body, None, [email]) for email in reviewers])
    logger.info("release %s submitted: emailed %s reviewer(s)", release_id, sent)
    return sent


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=MAX_RETRIES)
def notify_decision(self, signoff_id: int) -> int:
    """Tell the author that their release was approved or rejected, and by whom."""
    signoff = SignOff.objects.select_related("release__team", "release__author", "reviewer").filter(
        pk=signoff_id
    )
    signoff = signoff.first()
    if signoff is None or not signoff.release.author.email:
        return 0
    release = signoff.release
    word = "approved" if signoff.decision == SignOff.Decision.APPROVE else "rejected"
    subject = one_line(f"[releasegate] {release.title} was {word}")
    body = f"{signoff.reviewer.get_username()} {word} {release.title!r} (commit {signoff.commit[:12]}).\n"
    if signoff.comment:
        body += f"\nComment:\n{signoff.comment}\n"
    body += f"\n{release_url(release)}\n"
    sent = _deliver(self, release, [EmailMessage(subject, body, None, [release.author.email])])
    logger.info("release %s %s: emailed the author", release.pk, word)
    return sent


def _enqueue(task, release_id: int, *args) -> None:
    def send():
        try:
            task.delay(*args)
        except Exception as exc:  # noqa: BLE001 - any broker failure; the change itself is committed
            record_failure(
                task.name.rpartition(".")[2], release_id, f"could not enqueue {task.name}{args}: {exc!r}"
            )

    transaction.on_commit(send)


def on_submitted(release: Release) -> None:
    _enqueue(notify_submitted, release.pk, release.pk)


def on_decision(signoff: SignOff, *, release_status: str) -> None:
    """Email the author on a rejection, or on the approval that approved the release."""
    if signoff.decision == SignOff.Decision.REJECT or release_status == Release.Status.APPROVED:
        _enqueue(notify_decision, signoff.release_id, signoff.pk)
