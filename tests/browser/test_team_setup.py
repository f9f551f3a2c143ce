"""An owner sets up a new team, its repositories and its rules in a real Chromium, never opening /admin/;
then a member releases with the team's own checklist and uploads its JUnit report from the page."""

import re

import pytest
from playwright.sync_api import expect

from checklists.models import (
    ChecklistItem,
    FreezeWindow,
    Membership,
    Release,
    Repository,
    ReviewerGroup,
    Team,
    TestReport,
    Webhook,
)
from tests.helpers.factories import UserFactory, ensure_default_template

from ..helpers.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JUNIT = '<testsuite name="search" tests="2" failures="0" errors="0"><testcase name="a"/><testcase name="b"/></testsuite>'


def section(page, anchor: str):
    return page.locator(f"section#{anchor}")


def field(scope, label: str):
    """The input labelled exactly `label` (crispy adds a * to required fields)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def test_an_owner_sets_up_a_team_without_the_admin(live_server, page, tmp_path):
    for name in ("erin", "frank", "gina"):
        UserFactory(username=name)
    ensure_default_template()  # transactional tests flush the data migration's default checklist
    visited = []
    page.on("request", lambda request: visited.append(request.url))
    base = live_server.url
    sign_in(page, base, "erin")

    page.get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="New team").click()
    field(page, "Name").fill("Search")
    field(page, "Short name").fill("search")
    page.get_by_role("button", name="Open team").click()
    page.wait_for_url(f"{base}/teams/search/")
    expect(page.get_by_test_id("team-name")).to_contain_text("Search")

    people = section(page, "people")
    for person, role in (("frank", "Member"), ("gina", "Reviewer")):
        field(people, "Person").fill(person)
        field(people, "Role").select_option(label=role)
        people.get_by_role("button", name="Add to the team").click()
        expect(page.locator(f'[data-testid="members"] tr[data-user="{person}"]')).to_be_visible()

    # Two approvals with two reviewers: a release by one of them can never be approved. Said so.
    rules = section(page, "approvals")
    field(rules, "Required approvals").fill("3")
    field(rules, "Approvals expire after (days)").fill("14")
    rules.get_by_role("button", name="Save approval rules").click()
    expect(page.get_by_test_id("team-warnings")).to_contain_text("2 reviewer(s)")
    rules = section(page, "approvals")
    field(rules, "Required approvals").fill("1")
    rules.get_by_role("button", name="Save approval rules").click()
    expect(page.get_by_test_id("team-warnings")).to_have_count(0)

    repos = section(page, "repositories")
    field(repos, "Location").fill("http://git.example.com/search/api.git")
    repos.get_by_role("button", name="Register").click()
    expect(section(page, "repositories").locator(".invalid-feedback, .text-danger").first).to_contain_text(
        "https://"
    )
    repos = section(page, "repositories")
    field(repos, "Location").fill("https://git.example.com/search/api.git")
    repos.get_by_role("button", name="Register").click()
    expect(page.get_by_test_id("repositories")).to_contain_text("https://git.example.com/search/api.git")

    probes = section(page, "probes")
    field(probes, "Endpoints the auth probe checks").fill(
        "https://search.example.com/api/\nhttps://search.example.com/healthz"
    )
    field(probes, "Public allowlist").fill("/healthz")
    probes.get_by_role("button", name="Save probes and files").click()
    expect(page.get_by_text("Probe endpoints and configuration files saved.")).to_be_visible()

    groups = section(page, "groups")
    field(groups, "Name").fill("security")
    field(groups, "gina").check()
    groups.get_by_role("button", name="Create group").click()
    expect(page.get_by_test_id("groups")).to_contain_text("security")

    freezes = section(page, "freezes")
    field(freezes, "Starts (UTC)").fill("2099-12-20T18:00")
    field(freezes, "Ends (UTC)").fill("2099-12-27T08:00")
    field(freezes, "Reason").fill("Holiday freeze")
    freezes.get_by_role("button", name="Plan freeze").click()
    expect(page.get_by_test_id("freezes")).to_contain_text("Holiday freeze")

    hooks = section(page, "webhooks")
    field(hooks, "URL").fill("https://chat.example.com/hooks/search")
    hooks.get_by_role("button", name="Add webhook").click()
    secret = field(page, "Webhook signing secret").input_value()
    assert secret == Webhook.objects.get().secret
    page.goto(f"{base}/teams/search/")
    expect(field(page, "Webhook signing secret")).to_have_count(0)  # shown once

    notes = section(page, "notifications")
    field(notes, "Team address").fill("search-releases@example.com")
    field(notes, "deployed").check()
    notes.get_by_role("button", name="Save notifications").click()
    expect(page.get_by_text("Notification settings saved.")).to_be_visible()

    # The team's own checklist: a draft, one more item, the diff, publish.
    page.get_by_role("link", name="Edit the checklist").click()
    page.get_by_role("button", name="Edit: open a draft").click()
    add = page.locator("form.add-item-form")
    field(add, "Key").fill("search.relevance-checked")
    field(add, "Category").select_option("correctness")
    field(add, "Title").fill("Relevance suite compared with the last release")
    add.get_by_role("button", name="Add item").click()
    expect(page.get_by_test_id("draft-diff")).to_contain_text("Relevance suite compared")
    page.get_by_role("button", name=re.compile("^Publish")).click()
    expect(page.get_by_test_id("checklist-in-use")).to_contain_text("Search checklist v1")
    sign_out(page)

    team = Team.objects.get(slug="search")
    assert (team.owner.username, team.required_approvals, team.approval_valid_days) == ("erin", 1, 14)
    assert team.probe_public_allowlist == ["/healthz"] and team.notify_events == ["deployed"]
    assert Membership.objects.get(team=team, user__username="gina").role == "reviewer"
    assert list(ReviewerGroup.objects.get(team=team).members.values_list("username", flat=True)) == ["gina"]
    assert FreezeWindow.objects.filter(team=team).count() == 1
    assert Repository.objects.filter(team=team).count() == 1
    assert not [url for url in visited if "/admin/" in url]

    # A member releases with the new checklist and uploads the JUnit report from the release page.
    sign_in(page, base, "frank")
    page.get_by_role("link", name="New release").first.click()
    field(page, "Title").fill("Search API 1.1")
    field(page, "Commit").fill("a1" * 20)
    field(page, "Version before").fill("1.0.0")
    field(page, "Version after").fill("1.1.0")
    field(page, "Rollback plan").fill("Redeploy 1.0.0.")
    page.get_by_role("button", name="Open draft").click()
    expect(page.get_by_test_id("status")).to_have_text("Draft")
    release = Release.objects.get(title="Search API 1.1")
    assert ChecklistItem.objects.filter(release=release, key="search.relevance-checked").exists()
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    page.locator("#test-report-file").set_input_files(str(report))
    page.get_by_role("button", name="Upload report").click()
    expect(page.get_by_text("2 tests, 0 failure(s), 0 error(s)")).to_be_visible()
    assert TestReport.objects.get(release=release).commit == release.commit
    # The one refusal on the way was the deliberate http:// location (400); nothing else failed.
    unexpected = [
        p for p in page.problems if "/teams/search/repositories/" not in p and "400 (Bad Request)" not in p
    ]
    assert unexpected == [], page.problems
