"""Email about a release: to the team's reviewers on submit, to the author on the decision.

The workflow calls `on_submitted` / `on_decision` inside its transaction; the tasks are
enqueued only once it commits, and a broker that is down costs an email (logged), never
the state change. Tasks take ids and say nothing when the rows are gone.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse

from .models import Membership, Release, SignOff

logger = logging.getLogger(__name__)

MAIL_ERRORS = (smtplib.SMTPException, OSError)


def release_url(release: Release) -> str:
    return settings.RELEASEGATE_BASE_URL.rstrip("/") + reverse("checklists:release", args=[release.pk])


def _send(messages: list[tuple[str, str, None, list[str]]]) -> int:
    return send_mass_mail(messages, fail_silently=False) if messages else 0


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
    reviewers = (
        Membership.objects.filter(team_id=release.team_id, role=Membership.Role.REVIEWER)
        .exclude(user_id=release.author_id)
        .exclude(user__email="")
        .filter(user__is_active=True)
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
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
    if signoff is None or not signoff.release.author.email:
        return 0
    release = signoff.release
    word = "approved" if signoff.decision == SignOff.Decision.APPROVE else "rejected"
    subject = f"[releasegate] {release.title} was {word}"
    body = f"{signoff.reviewer.get_username()} {word} {release.title!r} (commit {signoff.commit[:12]}).\n"
    if signoff.comment:
        body += f"\nComment:\n{signoff.comment}\n"
    body += f"\n{release_url(release)}\n"
    sent = _send([(subject, body, None, [release.author.email])])
    logger.info("release %s %s: emailed the author", release.pk, word)
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
