"""Slack: verify interactivity requests, build the release message, the replies and the dialog.

Facts from Slack's documentation:
- Requests are signed: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>"
  with the signing secret>` and `X-Slack-Request-Timestamp`; requests older than five minutes
  are to be refused (docs.slack.dev/authentication/verifying-requests-from-slack/). slack_sdk's
  SignatureVerifier implements both; the window is checked here too, to say which failed.
- Interactivity posts `payload=<JSON>` form-encoded. A button press is `type: block_actions`
  with `user.id`, `team.id`, `actions[].action_id` / `value`, `trigger_id` and a `response_url`
  on hooks.slack.com that takes `{"text", "response_type": "ephemeral", "replace_original"}`
  for 30 minutes; a modal's submit is `type: view_submission` with `view.callback_id`,
  `view.private_metadata` and `view.state.values[block_id][action_id].value`, answered in the
  HTTP response with `{"response_action": "errors", "errors": {block_id: text}}` or nothing
  (docs.slack.dev/interactivity/handling-user-interaction/, docs.slack.dev/reference/interaction-payloads/).
- `views.open` takes a `trigger_id` (valid 3 seconds) and a modal view; `chat.postMessage` /
  `chat.update` take `channel`, `ts`, `text` and `blocks`; incoming webhooks take the same
  message JSON but give no handle to edit the message later (docs.slack.dev/reference/methods/).
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.core import signing
from django.urls import reverse
from slack_sdk.signature import SignatureVerifier

from ..models import Release
from ..policy import abilities
from . import http

WINDOW_SECONDS = 5 * 60
LINK_SALT = "releasegate.integrations.slack-link"
LINK_MAX_AGE = 15 * 60
REJECT_CALLBACK = "releasegate_reject"
COMMENT_BLOCK = "comment"
MAX_COMMITS_SHOWN = 5

# slack_sdk logs URLs and bodies at DEBUG; a webhook URL is a secret, so its loggers stay quiet.
sdk_logger = logging.getLogger("releasegate.integrations.slack_sdk")
sdk_logger.setLevel(logging.WARNING)


class Refused(Exception):
    """The request is not one releasegate accepts; `status` says how to answer."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.message, self.status = message, status


def verify(body: bytes, timestamp: str | None, signature: str | None) -> None:
    """Raise Refused(401) unless Slack signed this body within the last five minutes."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        raise Refused("SLACK_SIGNING_SECRET is not set: releasegate cannot verify Slack's requests.")
    if not timestamp or not signature:
        raise Refused("The request is not signed (X-Slack-Signature and X-Slack-Request-Timestamp).")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise Refused("X-Slack-Request-Timestamp is not a number.") from None
    if age > WINDOW_SECONDS:
        raise Refused("The request is older than five minutes (or from the future); it may be a replay.")
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        raise Refused("The Slack signature does not match.")


def check_hooks_url(url: str) -> str:
    """The URL if it is on Slack's hooks host (RELEASEGATE_SLACK_HOOKS_URL); raise Refused(400)."""
    if not isinstance(url, str) or not http.same_origin_under(url, settings.RELEASEGATE_SLACK_HOOKS_URL):
        raise Refused("The response_url is not on Slack's hooks host.", status=400)
    return url


# --- linking a Slack account ---------------------------------------------------------------


def link_token(slack_user_id: str, slack_team_id: str) -> str:
    return signing.dumps({"u": slack_user_id, "t": slack_team_id}, salt=LINK_SALT, compress=True)


def read_link_token(token: str) -> tuple[str, str]:
    """(Slack user id, team id) that Slack vouched for in the last 15 minutes; raise signing.BadSignature."""
    data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("t"), str):
        raise signing.BadSignature("malformed link token")
    return data["u"], data["t"]


def link_url(slack_user_id: str, slack_team_id: str) -> str:
    path = reverse("checklists:slack_link")
    return (
        f"{settings.RELEASEGATE_BASE_URL.rstrip('/')}{path}?token={link_token(slack_user_id, slack_team_id)}"
    )


# --- what releasegate says in Slack ---------------------------------------------------------


def esc(text: str) -> str:
    """Slack's mrkdwn escapes: &, < and > (docs.slack.dev/messaging/formatting-message-text/)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def release_url(release: Release) -> str:
    return settings.RELEASEGATE_BASE_URL.rstrip("/") + reverse("checklists:release", args=[release.pk])


def reply(text: str) -> dict:
    return {"text": text, "response_type": "ephemeral", "replace_original": False}


def _shipping_text(facts: abilities.Facts) -> str:
    found = facts.shipping
    if not found.ready:
        return f"*What ships*: {esc(found.error or found.state)}"
    rng = found.range
    lines = [
        f"*What ships*: {len(found.commits)} commit(s), {len(found.files)} file(s), "
        f"{esc(rng.get_relation_display().lower())}"
    ]
    for commit in found.commits[:MAX_COMMITS_SHOWN]:
        lines.append(
            f"• `{commit.get('sha', '')[:8]}` {esc(commit.get('subject', ''))} — {esc(commit.get('author_name', ''))}"
        )
    if len(found.commits) > MAX_COMMITS_SHOWN:
        lines.append(f"• … and {len(found.commits) - MAX_COMMITS_SHOWN} more")
    if sentence := found.relation_sentence():
        lines.append(f":warning: {esc(sentence)}")
    return "\n".join(lines)


def _checklist_text(release: Release, facts: abilities.Facts) -> str:
    required = [i for i in facts.items if i.required and not i.is_signoff]
    done = sum(1 for i in required if i.is_satisfied)
    text = f"*Checklist*: {done}/{len(required)} required items done"
    blockers = facts.blockers(for_submit=False) if release.status == Release.Status.IN_REVIEW else []
    if blockers:
        text += "\n" + "\n".join(f"• {esc(b['title'])}: {esc(b['why'])}" for b in blockers[:5])
    return text


def message(release: Release) -> dict:
    """The release's message: what ships, the checklist, and Approve / Reject while it is in review."""
    facts = abilities.Facts(release)
    url = release_url(release)
    status = release.get_status_display()
    approvals = (
        len(facts.counting)
        if release.status == Release.Status.APPROVED
        else sum(1 for s in facts.signoffs if not s.stale and s.decision == "approve")
    )
    headline = (
        f"*<{url}|{esc(release.title)}>* (#{release.pk}, {esc(release.team.name)}) by "
        f"{esc(release.author.get_username())}\n*Status*: {esc(status)} · {approvals}/"
        f"{release.team.required_approvals} approval(s)"
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Commit*\n`{release.commit[:12]}`"},
                {
                    "type": "mrkdwn",
                    "text": f"*Versions*\n{esc(release.version_before or '?')} → {esc(release.version_after or '?')}",
                },
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _shipping_text(facts)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _checklist_text(release, facts)}},
    ]
    if release.status == Release.Status.IN_REVIEW:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"release-{release.pk}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "value": str(release.pk),
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Approve"},
                    },
                    {
                        "type": "button",
                        "action_id": "reject",
                        "value": str(release.pk),
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Reject"},
                    },
                ],
            }
        )
    text = f"{release.title} (#{release.pk}) is {status.lower()}"
    return {"text": text, "blocks": blocks}


def reject_dialog(release: Release, response_url: str) -> dict:
    """The modal that asks for the mandatory comment of a rejection."""
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": json.dumps({"release": release.pk, "response_url": response_url}),
        "title": {"type": "plain_text", "text": "Reject the release"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{esc(release.title)}* (#{release.pk}): say what must change.",
                },
            },
            {
                "type": "input",
                "block_id": COMMENT_BLOCK,
                "label": {"type": "plain_text", "text": "Comment"},
                "element": {"type": "plain_text_input", "action_id": COMMENT_BLOCK, "multiline": True},
            },
        ],
    }
