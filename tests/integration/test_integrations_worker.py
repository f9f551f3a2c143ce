"""GitHub and Slack through a real `celery -A releasegate worker` (PostgreSQL and Redis).

A GitHub deployment waits for releasegate and proceeds when bob approves: the worker answers
the waiting deployment and sets the commit status; bob's press in Slack is answered on the
response_url by the worker. GitHub and Slack are a local server (tests/helpers/providers.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from checklists import workflow
from checklists.models.integrations import DeploymentCheck, SlackChannel
from tests.helpers.factories import make_release, register
from tests.helpers.processes import WorkerPool, wait_for, worker_env
from tests.helpers.providers import GITHUB_REPOSITORY, INSTALLATION_ID, start
from tests.helpers.release_steps import ready_for_review

pytestmark = pytest.mark.django_db(transaction=True)
PORTS = range(8155, 8160)  # this suite's own ports; only 127.0.0.1 is contacted


@pytest.fixture
def configured(settings, app_key, tmp_path):
    pem, public_key = app_key
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    bot_token = "xo" + "xb-" + secrets.token_hex(12)
    fake, stop = start("31337", public_key, "unused", bot_token, ports=PORTS)
    env = {
        "GITHUB_APP_ID": "31337",
        "GITHUB_APP_PRIVATE_KEY": str(key_file),
        "GITHUB_APP_WEBHOOK_SECRET": secrets.token_hex(16),
        "RELEASEGATE_GITHUB_API_URL": fake.url + "/api/v3",
        "RELEASEGATE_GITHUB_HOST": "github.example.org",
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "RELEASEGATE_SLACK_API_URL": fake.url + "/slack/api/",
        "RELEASEGATE_SLACK_HOOKS_URL": fake.url + "/hooks/",
    }
    for name, value in env.items():
        setattr(settings, name, value)
    yield fake, env
    stop()


@pytest.fixture
def worker(tmp_path, configured):
    from releasegate.celery import app

    pool = WorkerPool(tmp_path)

    def begin():
        # The set-up's messages are dropped: the test did the scans and ranges itself, and the
        # integrations' deliveries it logged are found again by the sweep (a lost message).
        app.control.purge()
        env = worker_env(
            tmp_path, os.environ["CELERY_BROKER_URL"], RELEASEGATE_SCAN_RESEND_SECONDS="2", **configured[1]
        )
        pool.start("integrations", env)

    yield begin
    pool.stop_all()


def test_a_github_deployment_waits_and_proceeds_when_bob_approves_in_slack(
    client, team, alice, bob, configured, worker
):
    fake, env = configured
    SlackChannel.objects.create(team=team, bot_token=fake.bot_token, channel="C0RELEASES")
    workflow.link_slack_account(bob, actor=None, slack_user_id="U0BOB")
    register(team, GITHUB_REPOSITORY)
    release = ready_for_review(make_release(team, alice, repository=GITHUB_REPOSITORY), alice)
    worker()

    event = {
        "action": "requested",
        "environment": "production",
        "event": "push",
        "deployment_callback_url": f"{fake.url}/api/v3/repos/acme/payments-api/actions/runs/42/deployment_protection_rule",
        "deployment": {"id": 1, "sha": release.commit, "created_at": datetime.now(UTC).isoformat()},
        "repository": {"full_name": "acme/payments-api", "name": "payments-api"},
        "installation": {"id": INSTALLATION_ID},
    }
    body = json.dumps(event).encode()
    signature = (
        "sha256=" + hmac.new(env["GITHUB_APP_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    )
    answer = client.post(
        "/integrations/github/events/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT="deployment_protection_rule",
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
    )
    assert answer.json()["state"] == "waiting"

    # bob presses Approve on the Slack message the worker posted.
    wait_for(lambda: fake.sent(r"chat.postMessage$"), 60, "the Slack message")
    payload = {
        "type": "block_actions",
        "user": {"id": "U0BOB", "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "trigger_id": "1.2.3",
        "response_url": f"{fake.url}/hooks/actions/T0ACME/1/{secrets.token_hex(6)}",
        "actions": [{"action_id": "approve", "value": str(release.pk), "type": "button"}],
    }
    form = urlencode({"payload": json.dumps(payload)})
    ts = str(int(time.time()))
    slack_signature = (
        "v0="
        + hmac.new(
            env["SLACK_SIGNING_SECRET"].encode(), f"v0:{ts}:{form}".encode(), hashlib.sha256
        ).hexdigest()
    )
    pressed = client.post(
        "/integrations/slack/actions/",
        data=form,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_SIGNATURE=slack_signature,
        HTTP_X_SLACK_REQUEST_TIMESTAMP=ts,
    )
    assert pressed.json()["outcome"] == "approved"

    [callback] = wait_for(lambda: fake.sent(r"/deployment_protection_rule$"), 60, "the deployment answer")
    assert callback.json["state"] == "approved" and callback.json["environment_name"] == "production"
    assert callback.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"
    assert DeploymentCheck.objects.get().state == "approved"
    reply = wait_for(lambda: fake.sent(r"^/hooks/actions/"), 60, "the ephemeral reply")[0]
    assert reply.json["response_type"] == "ephemeral" and "You approved" in reply.json["text"]

    def success_status():
        return [s for s in fake.sent(r"/statuses/") if s.json["state"] == "success"]

    assert wait_for(success_status, 60, "the success status")[0].json["context"] == "releasegate/checklist"
