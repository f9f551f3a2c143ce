"""Slack: the release message with Approve / Reject, presses acting through the same workflow,
signed requests only (v0 HMAC, five-minute window, no replays), and linked accounts.

Slack is a local server (tests/helpers/providers.py): its Web API checks the bot token, its hooks
host takes the response_url replies. The tests assert what releasegate sent there.
"""

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import CommandError, call_command

from checklists import workflow
from checklists.errors import TransitionError
from checklists.integrations import slack
from checklists.models import AuditEvent, SignOff
from checklists.models.integrations import (
    IntegrationDelivery,
    SeenRequest,
    SlackAccount,
    SlackChannel,
    SlackMessage,
)

from .helpers.release_steps import drain, ready_for_review

ACTIONS = "/integrations/slack/actions/"
WORKSPACE = "T0ACME"
BOB_SLACK, ALICE_SLACK, NEWCOMER_SLACK = "U0BOB", "U0ALICE", "U0NEW"


@pytest.fixture
def channel(team, providers):
    return SlackChannel.objects.create(team=team, bot_token=providers.bot_token, channel="C0RELEASES")


@pytest.fixture
def linked(alice, bob):
    workflow.link_slack_account(alice, actor=alice, slack_user_id=ALICE_SLACK, slack_team_id=WORKSPACE)
    workflow.link_slack_account(bob, actor=None, slack_user_id=BOB_SLACK)


def press(fake, release_id, action_id, slack_user):
    """A `block_actions` payload with the fields Slack documents."""
    return {
        "type": "block_actions",
        "user": {"id": slack_user, "username": slack_user.lower(), "team_id": WORKSPACE},
        "team": {"id": WORKSPACE, "domain": "acme"},
        "api_app_id": "A0RELEASEGATE",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0RELEASES"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": "C0RELEASES", "name": "releases"},
        "response_url": f"{fake.url}/hooks/actions/{WORKSPACE}/1/{secrets.token_hex(8)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"release-{release_id}",
                "value": str(release_id),
                "type": "button",
                "action_ts": "1700000001.1",
            }
        ],
    }


def post(client, settings, payload, *, timestamp=None, secret=None, signature=None):
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = (secret or settings.SLACK_SIGNING_SECRET).encode()
    signature = signature or "v0=" + hmac.new(key, f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        ACTIONS,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_SIGNATURE=signature,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
    )


def replies(fake):
    return [r for r in fake.sent(r"^/hooks/actions/")]


def test_submit_posts_the_release_with_approve_and_reject_buttons(providers, channel, release, alice):
    ready_for_review(release, alice)
    drain()
    [posted] = providers.sent(r"/slack/api/chat.postMessage$")
    assert posted.headers["Authorization"] == f"Bearer {providers.bot_token}"
    body = posted.json
    assert body["channel"] == "C0RELEASES" and release.title in body["text"]
    actions = [b for b in body["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("approve", str(release.pk)),
        ("reject", str(release.pk)),
    ]
    text = json.dumps(body["blocks"])
    assert "What ships" in text and "1 commit(s)" in text and "Checklist" in text and "In review" in text
    assert SlackMessage.objects.filter(release=release, channel="C0RELEASES").count() == 1


def test_bob_approves_from_slack_and_the_message_updates(
    client, settings, providers, channel, linked, release, alice, bob
):
    ready_for_review(release, alice)
    drain()
    response = post(client, settings, press(providers, release.pk, "approve", BOB_SLACK))
    assert response.status_code == 200
    assert response.json()["outcome"] == "approved" and "You approved" in response.json()["text"]
    release.refresh_from_db()
    assert release.status == "approved"
    assert SignOff.objects.get(release=release).reviewer == bob
    drain()
    [reply] = replies(providers)
    assert reply.json == {
        "text": response.json()["text"],
        "response_type": "ephemeral",
        "replace_original": False,
    }
    update = providers.sent(r"/slack/api/chat.update$")[-1].json
    assert update["ts"] == SlackMessage.objects.get(release=release).ts
    assert "Approved" in json.dumps(update["blocks"]) and not [
        b for b in update["blocks"] if b["type"] == "actions"
    ]


def test_alice_pressing_approve_on_her_own_release_is_refused_with_the_reason(
    client, settings, providers, channel, linked, release, alice
):
    ready_for_review(release, alice)
    revision = release.revision
    response = post(client, settings, press(providers, release.pk, "approve", ALICE_SLACK))
    assert response.status_code == 200
    assert response.json()["outcome"] == "self_review"
    assert "You are the author of this release; someone else must review it." in response.json()["text"]
    release.refresh_from_db()
    assert (release.status, release.revision, release.signoffs.count()) == ("in_review", revision, 0)
    drain()
    [reply] = replies(providers)
    assert reply.json["text"] == response.json()["text"] and reply.json["response_type"] == "ephemeral"


def test_reject_opens_a_dialog_and_its_comment_rejects_the_release(
    client, settings, providers, channel, linked, release, alice, bob
):
    ready_for_review(release, alice)
    pressed = press(providers, release.pk, "reject", BOB_SLACK)
    response = post(client, settings, pressed)
    assert response.json()["outcome"] == "dialog"
    drain()
    [opened] = providers.sent(r"/slack/api/views.open$")
    assert opened.json["trigger_id"] == pressed["trigger_id"]
    view = opened.json["view"]
    assert view["callback_id"] == slack.REJECT_CALLBACK and view["blocks"][-1]["block_id"] == "comment"

    def submission(comment):
        return {
            "type": "view_submission",
            "team": {"id": WORKSPACE},
            "user": {"id": BOB_SLACK, "team_id": WORKSPACE},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": {"comment": {"comment": {"type": "plain_text_input", "value": comment}}}},
            },
        }

    empty = post(client, settings, submission(""))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"comment": "A rejection needs a comment."},
    }
    release.refresh_from_db()
    assert release.status == "in_review"
    done = post(client, settings, submission("The rollback plan names the wrong version."))
    assert done.json() == {"response_action": "clear"}
    release.refresh_from_db()
    assert release.status == "draft"
    signoff = SignOff.objects.get(release=release)
    assert (signoff.reviewer, signoff.decision, signoff.comment) == (
        bob,
        "reject",
        "The rollback plan names the wrong version.",
    )
    drain()
    assert "You rejected" in replies(providers)[-1].json["text"]


def test_alice_cannot_even_open_the_reject_dialog_on_her_own_release(
    client, settings, providers, channel, linked, release, alice
):
    ready_for_review(release, alice)
    response = post(client, settings, press(providers, release.pk, "reject", ALICE_SLACK))
    assert response.json()["outcome"] == "self_review"
    assert not IntegrationDelivery.objects.filter(kind="slack_dialog").exists()


def test_without_a_bot_token_reject_points_to_the_release_page(
    client, settings, providers, team, linked, release, alice
):
    SlackChannel.objects.create(
        team=team, webhook_url=f"{providers.url}/hooks/services/T0ACME/B0/{secrets.token_hex(8)}"
    )
    ready_for_review(release, alice)
    response = post(client, settings, press(providers, release.pk, "reject", BOB_SLACK))
    assert response.json()["outcome"] == "comment_needed"
    assert f"/releases/{release.pk}/" in response.json()["text"]
    drain()
    [posted] = providers.sent(r"^/hooks/services/")  # the message went through the incoming webhook
    assert [b for b in posted.json["blocks"] if b["type"] == "actions"]


def test_an_unlinked_slack_user_gets_a_link_and_nothing_changes(
    client, settings, providers, channel, release, alice, dave
):
    ready_for_review(release, alice)
    response = post(client, settings, press(providers, release.pk, "approve", NEWCOMER_SLACK))
    assert response.json()["outcome"] == "not_linked"
    release.refresh_from_db()
    assert release.status == "in_review" and not release.signoffs.exists()
    link = response.json()["text"].rsplit(" ", 1)[1]
    path = urlsplit(link).path + "?" + urlsplit(link).query
    client.force_login(dave)
    page = client.get(path)
    assert page.status_code == 200 and NEWCOMER_SLACK in page.content.decode()
    token = parse_qs(urlsplit(link).query)["token"][0]
    client.post("/profile/slack/", {"token": token})
    assert SlackAccount.objects.get(slack_user_id=NEWCOMER_SLACK).user == dave
    assert AuditEvent.objects.filter(verb="slack.linked", actor=dave).exists()
    again = post(client, settings, press(providers, release.pk, "approve", NEWCOMER_SLACK))
    assert again.json()["outcome"] == "approved"


def test_a_forged_or_expired_link_links_nothing(client, settings, dave, providers):
    from django.core import signing

    client.force_login(dave)
    # Signed by this server, but for another purpose: not a link Slack vouched for.
    other_purpose = signing.dumps({"u": "U0BOB", "t": WORKSPACE}, salt="another-purpose")
    forged = client.post("/profile/slack/", {"token": other_purpose})
    assert forged.status_code == 302 and not SlackAccount.objects.exists()
    old = slack.link_token("U0OLD", WORKSPACE)
    settings.SECRET_KEY = settings.SECRET_KEY + "rotated"
    client.post("/profile/slack/", {"token": old})
    assert not SlackAccount.objects.exists()


def test_the_profile_shows_the_link_and_unlinks_it(client, alice, linked):
    client.force_login(alice)
    page = client.get("/profile/").content.decode()
    assert ALICE_SLACK in page and "Unlink" in page
    client.post("/profile/slack/", {"unlink": "1"})
    assert not SlackAccount.objects.filter(user=alice).exists()
    assert "Not linked" in client.get("/profile/").content.decode()


@pytest.mark.parametrize(
    "problem", ["no signature", "wrong secret", "stale", "future", "body changed", "not a number"]
)
def test_unsigned_stale_or_forged_requests_get_401_and_change_nothing(
    client, settings, providers, channel, linked, release, alice, problem
):
    ready_for_review(release, alice)
    payload = press(providers, release.pk, "approve", BOB_SLACK)
    body = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()))

    def sign(key, t, b):
        return "v0=" + hmac.new(key.encode(), f"v0:{t}:{b}".encode(), hashlib.sha256).hexdigest()

    headers = {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
        "HTTP_X_SLACK_SIGNATURE": sign(settings.SLACK_SIGNING_SECRET, ts, body),
    }
    if problem == "no signature":
        del headers["HTTP_X_SLACK_SIGNATURE"]
    elif problem == "wrong secret":
        headers["HTTP_X_SLACK_SIGNATURE"] = sign("guess", ts, body)
    elif problem in ("stale", "future"):
        moved = str(int(time.time()) + (-301 if problem == "stale" else 301))
        headers = {
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": moved,
            "HTTP_X_SLACK_SIGNATURE": sign(settings.SLACK_SIGNING_SECRET, moved, body),
        }
    elif problem == "body changed":
        body = body.replace("approve", "approvf", 1)
    else:
        headers["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = "yesterday"
    response = client.post(ACTIONS, data=body, content_type="application/x-www-form-urlencoded", **headers)
    assert response.status_code == 401
    release.refresh_from_db()
    assert release.status == "in_review" and not release.signoffs.exists()
    assert (
        not SeenRequest.objects.exists()
        and not IntegrationDelivery.objects.filter(kind="slack_reply").exists()
    )


def test_a_replay_inside_the_window_gets_401_and_changes_nothing(
    client, settings, providers, channel, linked, release, alice, bob
):
    ready_for_review(release, alice)
    payload = press(providers, release.pk, "reject", BOB_SLACK)
    ts = int(time.time())
    assert post(client, settings, payload, timestamp=ts).status_code == 200
    replay = post(client, settings, payload, timestamp=ts)
    assert replay.status_code == 401 and "replay" in replay.json()["text"]
    assert IntegrationDelivery.objects.filter(kind="slack_dialog").count() == 1


def test_without_a_signing_secret_every_request_is_refused(client, settings, providers, release):
    settings.SLACK_SIGNING_SECRET = ""
    assert (
        post(client, settings, press(providers, release.pk, "approve", BOB_SLACK), secret="x").status_code
        == 401
    )


def test_a_response_url_off_slacks_hooks_host_is_refused(
    client, settings, providers, channel, linked, release, alice
):
    ready_for_review(release, alice)
    payload = press(providers, release.pk, "approve", BOB_SLACK)
    payload["response_url"] = "http://127.0.0.1:1/hooks/actions/T/1/x"
    response = post(client, settings, payload)
    assert response.status_code == 400
    release.refresh_from_db()
    assert (
        release.status == "in_review" and not IntegrationDelivery.objects.filter(kind="slack_reply").exists()
    )


def test_the_link_command_links_refuses_a_taken_id_and_unlinks(alice, bob, capsys):
    call_command("link_slack", "alice", "U0ALICE")
    assert SlackAccount.objects.get(user=alice).slack_user_id == "U0ALICE"
    with pytest.raises(CommandError, match="linked to another releasegate account"):
        call_command("link_slack", "bob", "U0ALICE")
    with pytest.raises(CommandError, match="Slack member id"):
        call_command("link_slack", "bob", "bob")
    call_command("link_slack", "alice", "--unlink")
    assert not SlackAccount.objects.exists()
    assert AuditEvent.objects.filter(verb="slack.unlinked").count() == 1


def test_nobody_else_may_link_an_account_for_someone(alice, mallory):
    from checklists.errors import NotAllowed

    with pytest.raises(NotAllowed):
        workflow.link_slack_account(alice, actor=mallory, slack_user_id="U0MALLORY")
    workflow.link_slack_account(mallory, actor=mallory, slack_user_id="U0MALLORY")
    with pytest.raises(TransitionError):
        workflow.link_slack_account(alice, actor=alice, slack_user_id="U0MALLORY")


SLACK_IDS = {
    "alice": "U0ALICE",
    "bob": "U0BOB",
    "dave": "U0DAVE",
    "ci_user": "U0CI",
    "carol": "U0CAROL",
    "mallory": "U0MALLORY",
}


@pytest.mark.parametrize("state", ["draft", "in_review", "approved"])
@pytest.mark.parametrize("person", list(SLACK_IDS))
def test_a_press_in_slack_answers_as_the_abilities_do(
    request, client, settings, providers, channel, release, alice, bob, state, person
):
    """Slack is one more path to the same rule: its outcome is abilities_for's answer, and it
    changes the release exactly when that answer allows it."""
    from checklists.policy import abilities

    user = request.getfixturevalue(person)
    workflow.link_slack_account(user, actor=None, slack_user_id=SLACK_IDS[person])
    if state != "draft":
        ready_for_review(release, alice)
    if state == "approved":
        workflow.sign_off(release, actor=bob, decision="approve")
    release.refresh_from_db()
    expected = abilities.abilities_for(user, release)["approve"]
    revision = release.revision
    answer = post(client, settings, press(providers, release.pk, "approve", SLACK_IDS[person])).json()
    release.refresh_from_db()
    if expected.allowed:
        assert answer["outcome"] == "approved" and release.revision > revision
    else:
        assert answer["outcome"] == expected.code and expected.message in answer["text"]
        assert release.revision == revision
