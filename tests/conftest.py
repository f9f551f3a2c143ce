"""Shared fixtures: team `payments` with alice (author), bob and dave (reviewers),
carol (manager), ci (pipeline member) and mallory (no team at all)."""

import pytest

from checklists import workflow
from checklists.models import Membership

from .helpers.factories import (
    TeamFactory,
    UserFactory,
    add_member,
    make_manager,
    make_release,
    register,
    release_data,
)
from .helpers.providers import GITHUB_REPOSITORY
from .helpers.release_steps import ready_for_review


@pytest.fixture(autouse=True, scope="session")
def isolated_embedded_broker(tmp_path_factory):
    """Tasks enqueued by tests go to a throw-away queue, never to a developer's var/broker."""
    from releasegate.celery import app

    if app.conf.broker_url.startswith("filesystem://"):
        folder = tmp_path_factory.mktemp("broker")
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder),
            "control_folder": str(folder),
        }


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (page fragments, remembered git failures)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Tests create many users; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def repository_rules(settings):
    """The installation's git hosts in tests; local paths allowed, as in the demo."""
    settings.RELEASEGATE_GIT_HOSTS = ["git.example.com", "*.example.org"]
    settings.RELEASEGATE_GIT_PRIVATE_HOSTS = []
    settings.RELEASEGATE_ALLOW_LOCAL_REPOSITORIES = True


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def dave(db):
    return UserFactory(username="dave")


@pytest.fixture
def carol(db):
    return make_manager(UserFactory(username="carol"))


@pytest.fixture
def mallory(db):
    return UserFactory(username="mallory")


@pytest.fixture
def ci_user(db):
    return UserFactory(username="ci")


@pytest.fixture
def team(alice, bob, dave, ci_user):
    team = TeamFactory(name="Payments", slug="payments", owner=bob)
    add_member(team, alice, Membership.Role.MEMBER)
    add_member(team, bob, Membership.Role.REVIEWER)
    add_member(team, dave, Membership.Role.REVIEWER)
    add_member(team, ci_user, Membership.Role.MEMBER)
    register(team, release_data()["repository"])  # the repository its releases come from
    return team


@pytest.fixture
def release(team, alice):
    return make_release(team, alice)


@pytest.fixture
def hotfix(team, alice):
    return make_release(team, alice, kind="hotfix", title="Hotfix: refund rounding")


@pytest.fixture
def in_review(release, alice):
    return ready_for_review(release, alice)


@pytest.fixture
def approved(in_review, bob):
    workflow.sign_off(in_review, actor=bob, decision="approve", comment="looks good")
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    return in_review


# --- integrations (GitHub, GitLab, Slack): a local server speaking their APIs -------------------


@pytest.fixture(scope="session")
def app_key():
    from .helpers.providers import new_app_key

    return new_app_key()


@pytest.fixture
def providers(settings, app_key):
    """GitHub, GitLab and Slack on 127.0.0.1, and releasegate configured to use them."""
    import secrets

    from .helpers.providers import start

    pem, public_key = app_key
    gitlab_token = "glpat-" + secrets.token_hex(10)
    bot_token = "xo" + "xb-" + secrets.token_hex(12)
    fake, stop = start("31337", public_key, gitlab_token, bot_token)
    settings.GITHUB_APP_ID = "31337"
    settings.GITHUB_APP_PRIVATE_KEY = pem
    settings.GITHUB_APP_WEBHOOK_SECRET = secrets.token_hex(16)
    settings.RELEASEGATE_GITHUB_API_URL = fake.url + "/api/v3"
    settings.RELEASEGATE_GITHUB_HOST = "github.example.org"
    settings.RELEASEGATE_GITLAB_API_URL = fake.url + "/api/v4"
    settings.SLACK_SIGNING_SECRET = secrets.token_hex(16)
    settings.RELEASEGATE_SLACK_API_URL = fake.url + "/slack/api/"
    settings.RELEASEGATE_SLACK_HOOKS_URL = fake.url + "/hooks/"
    settings.RELEASEGATE_WEBHOOK_TIMEOUT = 5
    yield fake
    stop()


@pytest.fixture
def gh_release(team, alice, providers):
    """A draft release of the team's GitHub repository (acme/payments-api)."""
    register(team, GITHUB_REPOSITORY)
    return make_release(team, alice, repository=GITHUB_REPOSITORY)
