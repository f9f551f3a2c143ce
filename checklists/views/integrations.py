"""The inbound side: GitHub App events, Slack interactivity, and linking a Slack account.

Both endpoints are open to the internet and trust only signatures: an unsigned, badly signed,
stale or replayed request is answered 401 and changes nothing. A signed request that names
something releasegate does not know is a 4xx with a reason, and changes nothing either.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import workflow
from ..errors import WorkflowError
from ..integrations import deliveries, github, slack
from ..models import Release
from ..models.integrations import IntegrationDelivery, SeenRequest, SlackAccount, SlackChannel
from ..policy import abilities

logger = logging.getLogger(__name__)

SHA_LENGTH = 40
MAX_EVENT_AGE = timedelta(days=30)


class Replayed(Exception):
    pass


class BadPayload(Exception):
    pass


def _seen(source: str, key: str) -> None:
    """Remember a signed request; raise Replayed if it was handled before."""
    try:
        with transaction.atomic():
            SeenRequest.objects.create(source=source, key=key)
    except IntegrityError:
        raise Replayed from None


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


# --- GitHub -----------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def github_events(request: HttpRequest) -> HttpResponse:
    """GitHub App webhook: `deployment_protection_rule` events ask the gate."""
    secret = settings.GITHUB_APP_WEBHOOK_SECRET
    if not secret:
        return _error(
            401, "not_configured", "GITHUB_APP_WEBHOOK_SECRET is not set: events cannot be verified."
        )
    body = request.body
    if not github.signature_is_valid(secret, body, request.headers.get("X-Hub-Signature-256")):
        return _error(401, "bad_signature", "X-Hub-Signature-256 is missing or does not match the body.")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    event = request.headers.get("X-GitHub-Event", "")
    if not delivery or len(delivery) > 64:
        return _error(400, "invalid", "X-GitHub-Delivery is missing.")
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return _error(400, "invalid", "The body is not a JSON object.")
    try:
        with transaction.atomic():
            _seen("github", delivery)
            if event == "ping":
                return JsonResponse({"ok": True})
            if event != "deployment_protection_rule" or payload.get("action") != "requested":
                return JsonResponse(
                    {"ignored": f"releasegate does not act on {event or 'unnamed'} events."}, status=202
                )
            return _deployment_requested(payload, delivery)
    except Replayed:
        return _error(401, "replayed", f"Delivery {delivery} was handled already; a replay changes nothing.")
    except BadPayload as exc:
        return _error(400, "invalid", str(exc))
    except WorkflowError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)


def _field(payload: dict, *path: str, kind=str):
    value = payload
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) or value in ("", None):
        raise BadPayload(f"The event has no valid {'.'.join(path)}.")
    return value


def _deployment_requested(payload: dict, delivery: str) -> JsonResponse:
    repository = _field(payload, "repository", "full_name")
    if not github.NAME_RE.fullmatch(repository):
        raise BadPayload("repository.full_name is not owner/name.")
    sha = _field(payload, "deployment", "sha").lower()
    if len(sha) != SHA_LENGTH or any(c not in "0123456789abcdef" for c in sha):
        raise BadPayload("deployment.sha is not a full commit SHA.")
    environment = _field(payload, "environment")[:255]
    installation = _field(payload, "installation", "id", kind=int)
    created = payload.get("deployment", {}).get("created_at")
    if isinstance(created, str):
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise BadPayload("deployment.created_at is not a date.") from None
        if when.tzinfo and datetime.now(UTC) - when > MAX_EVENT_AGE:
            raise Replayed
    try:
        callback = github.check_callback_url(_field(payload, "deployment_callback_url"), repository)
    except ValueError as exc:
        raise BadPayload(str(exc)) from None
    check = workflow.request_deployment(
        repository=repository,
        sha=sha,
        environment=environment,
        installation_id=installation,
        callback_url=callback,
        delivery=delivery,
    )
    return JsonResponse(
        {"release": check.release_id, "state": check.state, "comment": check.comment or None}, status=202
    )


# --- Slack ------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def slack_actions(request: HttpRequest) -> HttpResponse:
    """Slack interactivity: Approve / Reject presses and the rejection dialog's submission."""
    signature = request.headers.get("X-Slack-Signature")
    try:
        slack.verify(request.body, request.headers.get("X-Slack-Request-Timestamp"), signature)
    except slack.Refused as exc:
        return JsonResponse(
            {"text": exc.message, "error": {"code": "bad_signature", "message": exc.message}}, status=401
        )
    try:
        payload = json.loads(request.POST.get("payload", ""))
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return _error(400, "invalid", "The body has no JSON payload.")
    try:
        with transaction.atomic():
            _seen("slack", hashlib.sha256(signature.encode()).hexdigest())
            kind = payload.get("type")
            if kind == "block_actions":
                return _button(payload)
            if kind == "view_submission":
                return _dialog_submitted(payload)
            return JsonResponse({"text": f"releasegate does not act on {kind} payloads."})
    except Replayed:
        message = "This request was handled already; a replay changes nothing."
        return JsonResponse({"text": message, "error": {"code": "replayed", "message": message}}, status=401)
    except slack.Refused as exc:
        return JsonResponse(
            {"text": exc.message, "error": {"code": "invalid", "message": exc.message}}, status=exc.status
        )
    except BadPayload as exc:
        return _error(400, "invalid", str(exc))


def _linked_user(payload: dict):
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    slack_user = user.get("id")
    team = (payload.get("team") or {}).get("id") if isinstance(payload.get("team"), dict) else None
    team = team or user.get("team_id") or ""
    if not isinstance(slack_user, str) or not slack_user:
        raise BadPayload("The payload names no Slack user.")
    account = SlackAccount.objects.select_related("user").filter(slack_user_id=slack_user).first()
    if (
        account is None
        or not account.user.is_active
        or (account.slack_team_id and account.slack_team_id != team)
    ):
        return None, (
            "Your Slack account is not linked to a releasegate account, so releasegate cannot act for you. "
            f"Link it (this link is yours and works for 15 minutes): {slack.link_url(slack_user, str(team))}"
        )
    return account.user, ""


def _answer(text: str, outcome: str, response_url: str, release_id: int | None) -> JsonResponse:
    """The outcome, as the 200 answer's text and as an ephemeral reply posted by a task."""
    body = slack.reply(text)
    release = Release.objects.filter(pk=release_id).first() if release_id else None
    deliveries.log(IntegrationDelivery.Kind.SLACK_REPLY, release=release, target=response_url, body=body)
    return JsonResponse({**body, "outcome": outcome})


def _button(payload: dict) -> JsonResponse:
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    action_id = action.get("action_id")
    if action_id not in ("approve", "reject"):
        return JsonResponse({"text": f"releasegate has no action {action_id!r}."})
    value = action.get("value")
    if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
        raise BadPayload("The button's value is not a release id.")
    release_id = int(value)
    response_url = slack.check_hooks_url(payload.get("response_url"))
    user, why = _linked_user(payload)
    if user is None:
        return _answer(why, "not_linked", response_url, release_id)
    if action_id == "approve":
        try:
            result = workflow.sign_off(release_id, actor=user, decision="approve")
        except WorkflowError as exc:
            return _answer(f"Refused: {exc.message}", exc.code, response_url, release_id)
        release = result.release
        return _answer(
            f"You approved {release.title} (#{release.pk}); it is now {release.get_status_display().lower()}.",
            "approved",
            response_url,
            release_id,
        )
    release = Release.objects.with_related().filter(pk=release_id).first()
    if release is None:
        return _answer("Refused: No such release.", "not_found", response_url, None)
    if refusal := abilities.signoff_refusal(user, release, abilities.Facts(release), decision="reject"):
        return _answer(f"Refused: {refusal.message}", refusal.code, response_url, release_id)
    channel = SlackChannel.objects.filter(team_id=release.team_id, active=True).first()
    trigger = payload.get("trigger_id")
    if channel is None or not channel.uses_bot or not isinstance(trigger, str) or not trigger:
        return _answer(
            f"A rejection needs a comment: reject it on the release page, {slack.release_url(release)}",
            "comment_needed",
            response_url,
            release_id,
        )
    deliveries.log(
        IntegrationDelivery.Kind.SLACK_DIALOG,
        release=release,
        target="views.open",
        body={
            "trigger_id": trigger,
            "view": slack.reject_dialog(release, response_url),
            "response_url": response_url,
        },
    )
    return JsonResponse(
        {**slack.reply("A rejection needs a comment: a dialog opens for it."), "outcome": "dialog"}
    )


def _dialog_submitted(payload: dict) -> JsonResponse:
    view = payload.get("view") if isinstance(payload.get("view"), dict) else {}
    if view.get("callback_id") != slack.REJECT_CALLBACK:
        return JsonResponse({})
    try:
        meta = json.loads(view.get("private_metadata") or "")
        release_id = int(meta["release"])
        response_url = slack.check_hooks_url(meta.get("response_url"))
    except (ValueError, KeyError, TypeError):
        raise BadPayload("The dialog's metadata is not releasegate's.") from None
    values = (view.get("state") or {}).get("values") or {}
    comment = ((values.get(slack.COMMENT_BLOCK) or {}).get(slack.COMMENT_BLOCK) or {}).get("value") or ""
    user, why = _linked_user(payload)
    if user is None:
        return JsonResponse({"response_action": "errors", "errors": {slack.COMMENT_BLOCK: why[:150]}})
    try:
        result = workflow.sign_off(release_id, actor=user, decision="reject", comment=comment)
    except WorkflowError as exc:
        return JsonResponse({"response_action": "errors", "errors": {slack.COMMENT_BLOCK: exc.message[:150]}})
    release = result.release
    deliveries.log(
        IntegrationDelivery.Kind.SLACK_REPLY,
        release=release,
        target=response_url,
        body=slack.reply(f"You rejected {release.title} (#{release.pk}); it is back to draft."),
    )
    return JsonResponse({"response_action": "clear"})


# --- the Slack account on the profile page ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def slack_link(request: HttpRequest) -> HttpResponse:
    """Confirm the link Slack vouched for (GET shows it, POST links it), or unlink (POST unlink=1)."""
    if request.method == "POST" and request.POST.get("unlink"):
        if workflow.unlink_slack_account(request.user, actor=request.user):
            messages.success(request, "Your Slack account is no longer linked.")
        return redirect("checklists:profile")
    token = request.POST.get("token") or request.GET.get("token") or ""
    try:
        slack_user, slack_team = slack.read_link_token(token)
    except signing.BadSignature:
        messages.error(
            request, "That Slack link is invalid or older than 15 minutes; press a button in Slack again."
        )
        return redirect("checklists:profile")
    if request.method == "GET":
        context = {"slack_user": slack_user, "slack_team": slack_team, "token": token}
        return render(request, "checklists/slack_link.html", context)
    try:
        workflow.link_slack_account(
            request.user, actor=request.user, slack_user_id=slack_user, slack_team_id=slack_team
        )
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect("checklists:profile")
    messages.success(request, f"Slack account {slack_user} is linked: your presses in Slack act as you.")
    return redirect("checklists:profile")
