"""Every outbound call of the integrations: logged as an IntegrationDelivery, sent by a task.

- The workflow calls `on_release_changed` (every change, from base._bump) and `on_submitted`
  inside its transaction: the rows are written with the change, and the tasks are sent only
  when it commits (checklists/effects/outbox.py). A lost message is found again by the sweep.
- Commit statuses and Slack message updates follow the release: what they send is computed
  when a worker claims the row, from the release as it is then. The claim takes the release's
  lock (briefly, with no network call under it), so for one target (a commit's status, a
  message) one delivery is in flight at a time and the last one sent carries the last state;
  older rows still waiting are marked `skipped`.
- Deployment answers, Slack replies and dialogs carry a fixed body, decided by the workflow.
- Failures (network, 5xx, 429) are retried with backoff up to RELEASEGATE_WEBHOOK_MAX_ATTEMPTS;
  a refusal that retrying cannot fix (4xx, not configured) ends the delivery as `failed`.
  Tokens and secrets never reach the log: `body` is what was sent, never a header.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from ..effects import outbox, webhooks
from ..models import Release
from ..models.integrations import (
    DeploymentCheck,
    GitLabProject,
    IntegrationDelivery,
    SlackChannel,
    SlackMessage,
)
from . import github, gitlab, http, slack, status

logger = logging.getLogger(__name__)

Kind = IntegrationDelivery.Kind
DStatus = IntegrationDelivery.Status
FOLLOWING = (Kind.GITHUB_STATUS, Kind.GITLAB_STATUS, Kind.SLACK_UPDATE)
STATUS_KINDS = (Kind.GITHUB_STATUS, Kind.GITLAB_STATUS)


# --- logging what must be sent (inside the workflow's transaction) -------------------------


def _send_on_commit(rows: list[IntegrationDelivery]) -> None:
    for row in rows:  # a lost message is found again by the sweep (`unsent`)
        outbox.on_commit(outbox.DELIVER_INTEGRATION, row.pk)


def _status_rows(release: Release) -> list[IntegrationDelivery]:
    targets = []
    name = github.repository_name(release.repository.location) if github.app_configured() else None
    if name and github.speaks_for(release.repository):
        targets.append((Kind.GITHUB_STATUS, name))
    project = GitLabProject.objects.filter(repository_id=release.repository_id, active=True).first()
    if project is not None:
        targets.append((Kind.GITLAB_STATUS, gitlab.project_ref(project)))
    if not targets:
        return []
    rows = [IntegrationDelivery(kind=k, release=release, sha=release.commit, target=t) for k, t in targets]
    # A commit the release no longer ships gets one last status saying so.
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    earlier = (
        IntegrationDelivery.objects.filter(release=release, kind__in=STATUS_KINDS)
        .exclude(sha=release.commit)
        .order_by("-id")
        .values_list("kind", "sha", "target", "state", "status")[:500]
    )
    for kind, sha, target, state, row_status in earlier:
        newest.setdefault(
            (kind, sha), (target, state if row_status != DStatus.PENDING else status.SUPERSEDED)
        )
    for (kind, sha), (target, state) in newest.items():
        if state != status.SUPERSEDED and kind in {k for k, _ in targets}:
            rows.append(IntegrationDelivery(kind=kind, release=release, sha=sha, target=target))
    return rows


def on_release_changed(release: Release) -> None:
    """Log the statuses and message updates that follow this change; answer waiting deployments."""
    rows = _status_rows(release)
    rows += [
        IntegrationDelivery(kind=Kind.SLACK_UPDATE, release=release, message=m, target=f"{m.channel}/{m.ts}")
        for m in SlackMessage.objects.filter(release=release)
    ]
    if rows:
        _send_on_commit(IntegrationDelivery.objects.bulk_create(rows))
    if DeploymentCheck.objects.filter(release=release, state=DeploymentCheck.State.WAITING).exists():
        outbox.on_commit(outbox.ANSWER_DEPLOYMENTS, release.pk)  # the sweep answers them too


def on_submitted(release: Release) -> None:
    """Post the release to its team's Slack channel, if the team has one."""
    channel = SlackChannel.objects.filter(team_id=release.team_id, active=True).first()
    if channel is None:
        return
    target = f"channel {channel.channel}" if channel.uses_bot else "incoming webhook"
    log(Kind.SLACK_POST, release=release, target=target)


def log(
    kind: str, *, release: Release | None = None, body: dict | None = None, **fields
) -> IntegrationDelivery:
    """Log one delivery now; it is enqueued when the current transaction commits."""
    row = IntegrationDelivery.objects.create(kind=kind, release=release, body=body or {}, **fields)
    _send_on_commit([row])
    return row


# --- delivering (workers only) --------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


class Final(Exception):
    """A refusal that retrying cannot fix."""


class Retry(Exception):
    """A failure worth another attempt."""


def claim_timeout() -> float:
    return settings.RELEASEGATE_WEBHOOK_TIMEOUT * 4 + 30


def _claim(delivery_id: int) -> IntegrationDelivery | Outcome:
    """Take the row for sending; compute what a following row sends, under the release's lock."""
    now = timezone.now()
    with transaction.atomic():
        release_id = (
            IntegrationDelivery.objects.filter(pk=delivery_id).values_list("release_id", flat=True).first()
        )
        if release_id is not None:
            Release.objects.select_for_update(of=("self",), no_key=True).filter(pk=release_id).first()
        row = (
            IntegrationDelivery.objects.select_for_update(of=("self",))
            .select_related(
                "release__team", "release__author", "release__repository", "message", "deployment_check"
            )
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            return Outcome("gone")
        fresh_claim = row.claimed_at is not None and row.claimed_at > now - timedelta(seconds=claim_timeout())
        if row.status not in (DStatus.PENDING, DStatus.SENDING) or (
            row.status == DStatus.SENDING and fresh_claim
        ):
            return Outcome(row.status)
        if row.kind in FOLLOWING:
            siblings = IntegrationDelivery.objects.filter(
                kind=row.kind, release_id=row.release_id, sha=row.sha, message_id=row.message_id
            ).exclude(pk=row.pk)
            if siblings.filter(pk__gt=row.pk, status=DStatus.PENDING).exists():
                row.status = DStatus.SKIPPED
                row.save(update_fields=["status"])
                return Outcome(DStatus.SKIPPED)
            busy = siblings.filter(
                status=DStatus.SENDING, claimed_at__gt=now - timedelta(seconds=claim_timeout())
            ).exists()
            if busy:
                return Outcome(DStatus.PENDING, retry_in=2)
            siblings.filter(pk__lt=row.pk, status=DStatus.PENDING).update(status=DStatus.SKIPPED)
            _compose(row)
        elif row.kind == Kind.SLACK_POST:
            row.body = slack.message(row.release) if row.release else {}
        row.status, row.claimed_at, row.attempts = DStatus.SENDING, now, row.attempts + 1
        row.save(update_fields=["status", "claimed_at", "attempts", "body", "state"])
        return row


def _compose(row: IntegrationDelivery) -> None:
    release = row.release
    if row.kind in STATUS_KINDS:
        found = status.commit_state(release, row.sha)
        row.state = status.SUPERSEDED if found.superseded else found.state
        if row.kind == Kind.GITHUB_STATUS:
            row.body = {
                "state": found.state,
                "target_url": slack.release_url(release),
                "description": found.short(),
                "context": status.STATUS_CONTEXT_NAME,
            }
        else:
            row.body = gitlab.status_body(
                status.GITLAB_STATES[found.state], found.short(255), slack.release_url(release)
            )
    else:  # a Slack message update
        row.body = slack.message(release)


def deliver(delivery_id: int) -> Outcome:
    """Try one delivery once and record the attempt; safe to call again for a finished row."""
    claimed = _claim(delivery_id)
    if isinstance(claimed, Outcome):
        return claimed
    row = claimed
    response_status, error, final = None, "", False
    try:
        response_status = SENDERS[row.kind](row)
    except Final as exc:
        error, final = str(exc)[:500], True
    except (Retry, http.RequestFailed, github.APIError) as exc:
        error = str(exc)[:500]
        final = getattr(exc, "final", False)
    except github.NotConfigured as exc:
        error, final = str(exc), True
    except SlackApiError as exc:
        code = exc.response.get("error", "") if exc.response is not None else ""
        error = f"Slack refused: {code or 'error'}"
        final = code not in ("ratelimited", "internal_error", "fatal_error", "service_unavailable")
    except OSError as exc:  # slack_sdk's urllib errors
        error = f"{type(exc).__name__}: {exc}"[:300]
    except Exception:  # a bug must not leave the row claimed for ever: retried, then failed
        logger.exception("integration delivery %s (%s) failed unexpectedly", row.pk, row.kind)
        error = "Unexpected error; the worker log has details."
    attempts = row.attempts
    now = timezone.now()
    if not error:
        new_status, retry_in = DStatus.DELIVERED, None
    elif final or attempts >= settings.RELEASEGATE_WEBHOOK_MAX_ATTEMPTS or row.kind == Kind.SLACK_DIALOG:
        new_status, retry_in = DStatus.FAILED, None
    else:
        new_status, retry_in = DStatus.PENDING, webhooks.backoff(attempts)
    IntegrationDelivery.objects.filter(pk=row.pk).update(
        status=new_status,
        response_status=response_status,
        error=error,
        last_attempt_at=now,
        claimed_at=None,
        enqueued_at=now + timedelta(seconds=retry_in or 0),
        delivered_at=now if new_status == DStatus.DELIVERED else None,
    )
    if error:
        logger.warning("integration delivery %s (%s): %s", row.pk, row.kind, error)
    if new_status == DStatus.FAILED and row.kind == Kind.SLACK_DIALOG and row.release_id:
        _dialog_failed(row)
    return Outcome(new_status, retry_in)


def _check_answer(response: http.Response, ok: tuple[int, ...], what: str) -> int:
    if response.status in ok:
        return response.status
    message = f"{what}: HTTP {response.status} {response.excerpt(200)}"
    if response.status == 429 or response.status >= 500:
        raise Retry(message)
    raise Final(message)


def _send_github_status(row: IntegrationDelivery) -> int:
    installation = github.installation_for(row.target)
    token = github.installation_token(installation)
    response = http.request(
        "POST", github.status_url(row.target, row.sha), headers=github.api_headers(token), body=row.body
    )
    if response.status == 401:
        github.forget_token(installation)
        raise Retry("GitHub refused the installation token (401); a new one is asked next time.")
    return _check_answer(response, (201,), "GitHub commit status")


def _send_github_deployment(row: IntegrationDelivery) -> int:
    check = row.deployment_check
    try:
        url = github.check_callback_url(check.callback_url, check.repository)
    except ValueError as exc:
        raise Final(str(exc)) from None
    token = github.installation_token(check.installation_id)
    response = http.request("POST", url, headers=github.api_headers(token), body=row.body)
    if response.status == 401:
        github.forget_token(check.installation_id)
        raise Retry("GitHub refused the installation token (401); a new one is asked next time.")
    return _check_answer(response, (200, 201, 202, 204), "GitHub deployment answer")


def _send_gitlab_status(row: IntegrationDelivery) -> int:
    project = (
        GitLabProject.objects.select_related("repository")
        .filter(repository_id=row.release.repository_id)
        .first()
    )
    if project is None or not project.active:
        raise Final("The repository has no active GitLab project any more.")
    response = http.request(
        "POST", gitlab.status_url(project, row.sha), headers={"PRIVATE-TOKEN": project.token}, body=row.body
    )
    return _check_answer(response, (200, 201), "GitLab commit status")


def _web_client(channel: SlackChannel) -> WebClient:
    return WebClient(
        token=channel.bot_token,
        base_url=settings.RELEASEGATE_SLACK_API_URL,
        timeout=int(settings.RELEASEGATE_WEBHOOK_TIMEOUT),
        logger=slack.sdk_logger,
    )


def _team_channel(row: IntegrationDelivery) -> SlackChannel:
    channel = SlackChannel.objects.filter(team_id=row.release.team_id, active=True).first()
    if channel is None:
        raise Final("The team has no active Slack channel any more.")
    return channel


def _send_webhook(url: str, body: dict, what: str) -> int:
    try:
        slack.check_hooks_url(url)
    except slack.Refused as exc:
        raise Final(exc.message) from None
    client = WebhookClient(url, timeout=int(settings.RELEASEGATE_WEBHOOK_TIMEOUT), logger=slack.sdk_logger)
    response = client.send_dict(body)
    if response.status_code == 200:
        return 200
    message = f"{what}: HTTP {response.status_code} {str(response.body)[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise Retry(message)
    raise Final(message)


def _send_slack_post(row: IntegrationDelivery) -> int:
    channel = _team_channel(row)
    if not channel.uses_bot:
        return _send_webhook(channel.webhook_url, row.body, "Slack incoming webhook")
    answer = _web_client(channel).chat_postMessage(channel=channel.channel, **row.body)
    ts = answer.get("ts")
    if ts:
        message, _ = SlackMessage.objects.get_or_create(
            channel=answer.get("channel") or channel.channel, ts=ts, defaults={"release": row.release}
        )
        # A change made while this was being posted is shown by one update.
        if (
            Release.objects.filter(pk=row.release_id).values_list("revision", flat=True).first()
            != row.release.revision
        ):
            log(
                Kind.SLACK_UPDATE,
                release=row.release,
                message=message,
                target=f"{message.channel}/{message.ts}",
            )
    return answer.status_code


def _send_slack_update(row: IntegrationDelivery) -> int:
    channel = _team_channel(row)
    if not channel.uses_bot:
        raise Final("Messages posted with an incoming webhook cannot be edited; give the team a bot token.")
    answer = _web_client(channel).chat_update(channel=row.message.channel, ts=row.message.ts, **row.body)
    return answer.status_code


def _send_slack_reply(row: IntegrationDelivery) -> int:
    return _send_webhook(row.target, row.body, "Slack response_url")


def _send_slack_dialog(row: IntegrationDelivery) -> int:
    channel = _team_channel(row)
    if not channel.uses_bot:
        raise Final("Opening a dialog needs the team's bot token.")
    answer = _web_client(channel).views_open(trigger_id=row.body["trigger_id"], view=row.body["view"])
    return answer.status_code


def _dialog_failed(row: IntegrationDelivery) -> None:
    """The dialog did not open (its trigger lasts three seconds): say where to reject instead."""
    response_url = row.body.get("response_url", "")
    if response_url:
        with transaction.atomic():
            log(
                Kind.SLACK_REPLY,
                release=row.release,
                target=response_url,
                body=slack.reply(
                    "The rejection dialog could not be opened; reject on the release page: "
                    + slack.release_url(row.release)
                ),
            )


SENDERS = {
    Kind.GITHUB_STATUS: _send_github_status,
    Kind.GITHUB_DEPLOYMENT: _send_github_deployment,
    Kind.GITLAB_STATUS: _send_gitlab_status,
    Kind.SLACK_POST: _send_slack_post,
    Kind.SLACK_UPDATE: _send_slack_update,
    Kind.SLACK_REPLY: _send_slack_reply,
    Kind.SLACK_DIALOG: _send_slack_dialog,
}


# --- the sweep (Celery beat) ----------------------------------------------------------------


def unsent(now) -> list[int]:
    """Pending rows whose task is overdue (a lost message), and claims of workers that died."""
    overdue = now - timedelta(seconds=settings.RELEASEGATE_SCAN_RESEND_SECONDS)
    abandoned = now - timedelta(seconds=claim_timeout())
    pending = IntegrationDelivery.objects.filter(status=DStatus.PENDING, enqueued_at__lt=overdue)
    stuck = IntegrationDelivery.objects.filter(status=DStatus.SENDING, claimed_at__lt=abandoned)
    found = list((pending | stuck).order_by("id").values_list("pk", flat=True)[:200])
    IntegrationDelivery.objects.filter(pk__in=found).update(enqueued_at=now)
    return found
