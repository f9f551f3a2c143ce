"""GitHub App: releasegate as a custom deployment protection rule, and commit statuses.

GitHub is a local server (tests/helpers/providers.py) that checks the App's RS256 JWT with the
public key, issues installation tokens and accepts only them; the events are signed with a real
HMAC. The tests assert what releasegate sent: URL, headers and body.
"""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.contrib.auth.models import User

from checklists import workflow
from checklists.integrations import github
from checklists.models import AuditEvent, FreezeWindow, Repository
from checklists.models.integrations import DeploymentCheck, IntegrationDelivery, SeenRequest
from checklists.policy import gate as gate_rules

from .helpers.factories import UserFactory, make_release
from .helpers.providers import GITHUB_REPOSITORY, INSTALLATION_ID
from .helpers.release_steps import drain, ready_for_review

EVENTS = "/integrations/github/events/"


def protection_event(fake, sha, *, repo="acme/payments-api", environment="production", run_id=7001, age=None):
    """A `deployment_protection_rule` payload with the fields GitHub documents."""
    created = datetime.now(UTC) - (age or timedelta(seconds=5))
    return {
        "action": "requested",
        "environment": environment,
        "event": "push",
        "deployment_callback_url": f"{fake.url}/api/v3/repos/{repo}/actions/runs/{run_id}/deployment_protection_rule",
        "deployment": {
            "id": 99,
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "environment": environment,
            "created_at": created.isoformat().replace("+00:00", "Z"),
        },
        "repository": {
            "id": 5,
            "name": repo.split("/")[1],
            "full_name": repo,
            "owner": {"login": repo.split("/")[0]},
        },
        "installation": {"id": INSTALLATION_ID},
        "sender": {"login": "octocat", "id": 1},
    }


def send_event(
    client,
    settings,
    payload,
    *,
    delivery=None,
    secret=None,
    signature=None,
    event="deployment_protection_rule",
):
    body = json.dumps(payload).encode()
    key = (secret or settings.GITHUB_APP_WEBHOOK_SECRET).encode()
    signature = signature or "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return client.post(
        EVENTS,
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=delivery or str(uuid.uuid4()),
    )


def callbacks(fake):
    return fake.sent(r"/deployment_protection_rule$")


def nothing_recorded():
    return (
        not DeploymentCheck.objects.exists()
        and not SeenRequest.objects.exists()
        and not IntegrationDelivery.objects.filter(kind="github_deployment").exists()
    )


def test_a_deployment_waits_for_the_release_and_proceeds_when_bob_approves(
    client, settings, providers, gh_release, alice, bob
):
    in_review = ready_for_review(gh_release, alice)
    response = send_event(client, settings, protection_event(providers, in_review.commit))
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "waiting" and response.json()["release"] == in_review.pk
    drain()
    assert callbacks(providers) == []  # nothing is answered while the release is in review

    workflow.sign_off(in_review, actor=bob, decision="approve", comment="ship it")
    drain()
    [answer] = callbacks(providers)
    assert answer.method == "POST"
    assert answer.path == "/api/v3/repos/acme/payments-api/actions/runs/7001/deployment_protection_rule"
    assert answer.headers["Accept"] == "application/vnd.github+json"
    assert answer.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert answer.headers["Authorization"] == f"Bearer {providers.issued_tokens[-1]}"
    assert answer.json["environment_name"] == "production"
    assert answer.json["state"] == "approved"
    assert f"release #{in_review.pk}" in answer.json["comment"] and "1 approval(s)" in answer.json["comment"]
    # The installation token came from a real App JWT (the fake verified it with the public key).
    [token_request] = providers.sent(rf"/app/installations/{INSTALLATION_ID}/access_tokens$")
    claims = jwt.decode(token_request.headers["Authorization"][7:], options={"verify_signature": False})
    assert claims["iss"] == "31337" and claims["exp"] - claims["iat"] <= 600
    check = DeploymentCheck.objects.get()
    assert (check.state, check.release_id) == ("approved", in_review.pk)
    assert AuditEvent.objects.filter(release=in_review, verb="github.deployment_answered").count() == 1
    in_review.refresh_from_db()
    assert in_review.events.count() == in_review.revision
    delivery = IntegrationDelivery.objects.get(kind="github_deployment")
    assert (delivery.status, delivery.response_status) == ("delivered", 204)


def test_an_approved_release_is_approved_at_once(client, settings, providers, gh_release, alice, bob):
    release = ready_for_review(gh_release, alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    response = send_event(
        client, settings, protection_event(providers, release.commit, environment="staging")
    )
    assert response.json()["state"] == "approved"
    drain()
    [answer] = callbacks(providers)
    assert answer.json["state"] == "approved" and answer.json["environment_name"] == "staging"


def test_a_release_closed_for_good_is_rejected_with_the_gates_reasons(
    client, settings, providers, gh_release, alice
):
    workflow.cancel(gh_release, actor=alice, reason="replaced by 2.5")
    response = send_event(client, settings, protection_event(providers, gh_release.commit))
    assert response.json()["state"] == "rejected"
    drain()
    [answer] = callbacks(providers)
    assert answer.json["state"] == "rejected"
    assert "The release is cancelled, not approved." in answer.json["comment"]
    gh_release.refresh_from_db()
    assert gate_rules.gate_status(gh_release, gh_release.commit).reasons[0] in answer.json["comment"]


def test_a_commit_no_release_ships_is_rejected_now(client, settings, providers, gh_release):
    response = send_event(client, settings, protection_event(providers, "ab" * 20))
    assert response.status_code == 202 and response.json()["state"] == "rejected"
    drain()
    [answer] = callbacks(providers)
    assert (
        answer.json["state"] == "rejected"
        and "no release of acme/payments-api ships commit abababababab" in answer.json["comment"]
    )


def test_a_repository_nobody_registered_is_rejected(client, settings, providers, gh_release):
    response = send_event(client, settings, protection_event(providers, gh_release.commit, repo="acme/other"))
    assert response.json()["state"] == "rejected"
    assert "acme/other is not a repository registered in releasegate" in response.json()["comment"]


def test_a_freeze_keeps_the_deployment_waiting_until_it_ends(
    client, settings, providers, gh_release, alice, bob
):
    release = ready_for_review(gh_release, alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    now = datetime.now(UTC)
    window = FreezeWindow.objects.create(
        team=release.team,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="quarter end",
    )
    assert (
        send_event(client, settings, protection_event(providers, release.commit)).json()["state"] == "waiting"
    )
    drain()
    assert callbacks(providers) == []
    FreezeWindow.objects.filter(pk=window.pk).update(ends_at=now - timedelta(minutes=1))
    from checklists import tasks

    tasks.sweep_integrations()  # what beat runs: the gate opened by itself
    drain()
    [answer] = callbacks(providers)
    assert answer.json["state"] == "approved"


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "wrong secret", "body changed", "sha1 only"],
)
def test_unsigned_or_badly_signed_events_get_401_and_change_nothing(
    client, settings, providers, gh_release, tamper
):
    payload = protection_event(providers, gh_release.commit)
    body = json.dumps(payload).encode()
    good = "sha256=" + hmac.new(settings.GITHUB_APP_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "HTTP_X_GITHUB_EVENT": "deployment_protection_rule",
        "HTTP_X_GITHUB_DELIVERY": str(uuid.uuid4()),
    }
    if tamper == "wrong secret":
        headers["HTTP_X_HUB_SIGNATURE_256"] = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    elif tamper == "body changed":
        headers["HTTP_X_HUB_SIGNATURE_256"] = good
        body = body.replace(b"production", b"productioN")
    elif tamper == "sha1 only":
        headers["HTTP_X_HUB_SIGNATURE"] = (
            "sha1=" + hmac.new(settings.GITHUB_APP_WEBHOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
        )
    response = client.post(EVENTS, data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert nothing_recorded()
    assert gh_release.events.count() == 1


def test_without_a_configured_secret_every_event_is_refused(client, settings, providers, gh_release):
    payload = protection_event(providers, gh_release.commit)
    settings.GITHUB_APP_WEBHOOK_SECRET = ""
    response = send_event(client, settings, payload, secret="anything")
    assert response.status_code == 401 and nothing_recorded()


def test_a_replayed_delivery_gets_401_and_changes_nothing(client, settings, providers, gh_release, alice):
    payload = protection_event(providers, gh_release.commit)
    first = send_event(client, settings, payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert first.status_code == 202
    revision = gh_release.__class__.objects.get(pk=gh_release.pk).revision
    again = send_event(client, settings, payload, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert again.status_code == 401 and again.json()["error"]["code"] == "replayed"
    assert DeploymentCheck.objects.count() == 1
    assert gh_release.__class__.objects.get(pk=gh_release.pk).revision == revision


def test_an_event_older_than_thirty_days_is_refused_as_a_replay(client, settings, providers, gh_release):
    response = send_event(
        client, settings, protection_event(providers, gh_release.commit, age=timedelta(days=31))
    )
    assert response.status_code == 401 and nothing_recorded()


@pytest.mark.parametrize(
    "callback",
    [
        "https://evil.example.net/api/v3/repos/acme/payments-api/actions/runs/1/deployment_protection_rule",
        "{url}/api/v3/repos/acme/other/actions/runs/1/deployment_protection_rule",
        "{url}/api/v3/repos/acme/payments-api/statuses/1",
        "{url}/elsewhere/repos/acme/payments-api/actions/runs/1/deployment_protection_rule",
        "http://127.0.0.1:1/api/v3/repos/acme/payments-api/actions/runs/1/deployment_protection_rule",
    ],
)
def test_a_callback_url_off_the_configured_api_is_refused(client, settings, providers, gh_release, callback):
    payload = protection_event(providers, gh_release.commit)
    payload["deployment_callback_url"] = callback.format(url=providers.url)
    response = send_event(client, settings, payload)
    assert response.status_code == 400 and "deployment_callback_url" in response.json()["error"]["message"]
    assert nothing_recorded()


def test_ping_and_other_events_change_nothing(client, settings, providers, gh_release):
    assert (
        send_event(client, settings, {"zen": "Keep it logically awesome."}, event="ping").status_code == 200
    )
    assert send_event(client, settings, {"action": "created"}, event="deployment").status_code == 202
    assert not DeploymentCheck.objects.exists()
    assert not IntegrationDelivery.objects.exclude(kind="github_status").exists()


def test_a_malformed_event_is_a_400(client, settings, providers, gh_release):
    payload = protection_event(providers, gh_release.commit)
    payload["deployment"]["sha"] = "main"
    response = send_event(client, settings, payload)
    assert response.status_code == 400 and nothing_recorded()


def test_commit_statuses_follow_the_release(providers, gh_release, alice, bob):
    drain()
    statuses = providers.sent(r"/statuses/")
    assert statuses[-1].path == f"/api/v3/repos/acme/payments-api/statuses/{gh_release.commit}"
    assert statuses[-1].json["state"] == "pending" and statuses[-1].json["context"] == "releasegate/checklist"
    assert statuses[-1].json["target_url"].endswith(f"/releases/{gh_release.pk}/")
    assert statuses[-1].headers["Authorization"] == f"Bearer {providers.issued_tokens[0]}"

    release = ready_for_review(gh_release, alice)
    drain()
    assert providers.sent(r"/statuses/")[-1].json["description"] == "Waiting for review."
    workflow.sign_off(release, actor=bob, decision="approve")
    drain()
    assert providers.sent(r"/statuses/")[-1].json["state"] == "success"

    old = release.commit
    new = "cd" * 20
    workflow.update_release(release, actor=alice, data={"commit": new})
    drain()
    last_by_sha = {}
    for sent in providers.sent(r"/statuses/"):
        last_by_sha[sent.path.rsplit("/", 1)[1]] = sent.json
    assert last_by_sha[old]["state"] == "error" and new[:12] in last_by_sha[old]["description"]
    assert last_by_sha[new]["state"] == "pending"
    # One installation token served every call: it is kept until it nearly expires.
    assert len(providers.issued_tokens) == 1


def test_many_changes_send_the_last_state_once_per_commit(providers, gh_release, alice):
    for item in gh_release.items.filter(satisfied_by="manual")[:4]:
        workflow.set_item_state(gh_release, item.key, actor=alice, state="done", evidence="ok")
    rows = IntegrationDelivery.objects.filter(kind="github_status", sha=gh_release.commit)
    assert rows.count() == 5  # one logged per change
    drain()
    assert len(providers.sent(rf"/statuses/{gh_release.commit}")) == 1
    assert set(rows.values_list("status", flat=True)) == {"delivered", "skipped"}


def test_an_app_not_installed_on_the_repository_fails_the_delivery_with_the_reason(providers, gh_release):
    providers.installed = False
    drain()
    row = IntegrationDelivery.objects.get(kind="github_status")
    assert row.status == "failed" and "not installed on acme/payments-api" in row.error


@pytest.mark.parametrize(
    "location,name",
    [
        ("https://github.example.org/Acme/Payments-API.git", "acme/payments-api"),
        ("https://github.example.org/acme/payments-api", "acme/payments-api"),
        ("ssh://git@github.example.org/acme/payments-api.git", "acme/payments-api"),
        ("git@github.example.org:acme/payments-api.git", "acme/payments-api"),
        ("https://git.example.com/acme/payments-api.git", None),
        ("https://github.example.org/acme/payments-api/extra", None),
        ("/srv/git/payments-api", None),
    ],
)
def test_how_a_github_repository_maps_to_a_registered_location(settings, location, name):
    settings.RELEASEGATE_GITHUB_HOST = "github.example.org"
    assert github.repository_name(location) == name


def test_the_host_defaults_to_github_com_and_follows_an_enterprise_api_url(settings):
    settings.RELEASEGATE_GITHUB_HOST = ""
    settings.RELEASEGATE_GITHUB_API_URL = "https://api.github.com"
    assert github.github_host() == "github.com"
    settings.RELEASEGATE_GITHUB_API_URL = "https://ghe.example.com/api/v3"
    assert github.github_host() == "ghe.example.com"


def test_the_app_key_may_be_a_path_and_a_bad_key_is_refused_with_a_reason(settings, app_key, tmp_path):
    pem, public_key = app_key
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    settings.GITHUB_APP_ID, settings.GITHUB_APP_PRIVATE_KEY = "77", str(key_file)
    claims = jwt.decode(github.app_jwt(), public_key, algorithms=["RS256"])
    assert claims["iss"] == "77"
    settings.GITHUB_APP_PRIVATE_KEY = str(tmp_path / "missing.pem")
    with pytest.raises(github.NotConfigured, match="neither a PEM key nor a readable file"):
        github.app_jwt()


def test_the_registered_repository_must_match(providers, team, gh_release):
    assert [r.location for r in github.matching_repositories("ACME/payments-api")] == [GITHUB_REPOSITORY]


# --- one team speaks for a GitHub repository ---------------------------------------------


@pytest.fixture
def mallorys_team(gh_release, mallory):
    """Mallory opens a team of her own, registers payments' GitHub repository and adds a friend."""
    team = workflow.create_team(actor=mallory, name="Skunkworks", slug="skunkworks")
    workflow.register_repository(
        team, actor=mallory, location="https://github.example.org/ACME/payments-api/"
    )
    workflow.add_member(team, actor=mallory, user=UserFactory(username="eve"), role="reviewer")
    return team


def approved_in(team, author, reviewer_name, sha):
    repository = Repository.objects.get(team=team)
    release = make_release(team, author, repository=repository.pk, commit=sha)
    release = ready_for_review(release, author)
    workflow.sign_off(release, actor=User.objects.get(username=reviewer_name), decision="approve")
    release.refresh_from_db()
    assert release.status == "approved"
    return release


def test_another_team_that_registered_the_repository_cannot_open_its_deployments(
    client, settings, providers, gh_release, mallorys_team, mallory
):
    sha = "cd" * 20  # a commit payments never released
    approved_in(mallorys_team, mallory, "eve", sha)
    response = send_event(client, settings, protection_event(providers, sha))
    assert response.status_code == 202 and response.json()["state"] == "rejected"
    assert "team payments, which registered it first" in response.json()["comment"]
    drain()
    [answer] = callbacks(providers)
    assert answer.json["state"] == "rejected"


def test_another_team_that_registered_the_repository_sets_no_commit_status(
    providers, gh_release, mallorys_team, mallory
):
    sha = "cd" * 20
    approved_in(mallorys_team, mallory, "eve", sha)
    drain()
    assert providers.sent(rf"/statuses/{sha}") == []
    assert providers.sent(rf"/statuses/{gh_release.commit}")  # payments' own release still has them
