"""A real Chromium signs in through a real OpenID Connect provider and lands with the roles of its groups."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from checklists.models import MANAGERS_GROUP, Membership
from tests.helpers.identity_provider import configure, provider_available, start_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    if why := provider_available():
        pytest.skip(why)
    started = start_provider(tmp_path_factory.mktemp("idp"), [f"{live_server.url}/oidc/callback/"])
    yield started
    started.stop()


def test_a_person_signs_in_through_the_company_provider_with_passwords_off(
    live_server, page, provider, settings, team
):
    configure(settings, provider, password_login=False)
    password = provider.set_account("erin", groups=["payments-reviewers", "release-managers"])
    base = live_server.url

    page.goto(f"{base}/teams/payments/")  # a page that needs sign-in
    expect(page.get_by_label("Password")).to_have_count(0)  # passwords are off
    page.get_by_role("link", name="Sign in with Company SSO").click()
    page.get_by_label("Company user name").fill("erin")
    page.get_by_label("Company password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/teams/payments/")  # back where the person was going
    expect(page.get_by_test_id("team-name")).to_contain_text("Payments")
    expect(page.locator('[data-testid="members"] tr[data-user="erin"]')).to_contain_text("identity provider")

    erin = User.objects.get(username="erin")
    membership = Membership.objects.get(team=team, user=erin)
    assert (membership.role, membership.source) == ("reviewer", "idp")
    assert erin.groups.filter(name=MANAGERS_GROUP).exists()
    page.get_by_role("link", name="erin").click()
    expect(page.locator("#teams-title").locator("xpath=../..")).to_contain_text("Reviewer")


def test_a_wrong_company_password_never_reaches_releasegate(live_server, page, provider, settings, team):
    configure(settings, provider)
    provider.set_account("erin", groups=["payments-devs"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Company SSO").click()
    page.get_by_label("Company user name").fill("erin")
    page.get_by_label("Company password").fill("not-the-password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    assert not User.objects.filter(username="erin").exists()
