"""Every page of the journey passes axe-core's WCAG 2 A and AA rules, with nothing in the console.

axe-core is the npm package (package.json, `npm ci` in .ci/legs/30-browser.sh), served to the
page from node_modules by the test itself: the page loads it as a same-origin script, so the
Content Security Policy stays as strict as in production and no CDN is ever asked. The same
Chromium page walks the whole journey (author, reviewer, manager) and collects every console
error, page error and failed response on the way: a CSP violation anywhere fails the test.
"""

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from checklists import workflow
from checklists.models import FreezeWindow, Release, ReviewerGroup, ScanRun

from ..helpers.browser import sign_in, sign_out
from ..helpers.release_steps import finish_queued_scans

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test-only__/axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
COMMIT = "5e7b1d2c" * 5


@pytest.fixture
def axe(page, live_server):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (the browser leg does)")
    source = AXE.read_text()
    page.route(
        f"{live_server.url}{AXE_PATH}",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=source),
    )
    checked: list[str] = []

    def check(label: str) -> None:
        page.wait_for_load_state("load")
        page.add_script_tag(url=f"{live_server.url}{AXE_PATH}")
        result = page.evaluate(
            "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary).slice(0, 5)})); }",
            WCAG,
        )
        assert result == [], (label, page.url, result)
        checked.append(label)

    check.checked = checked
    return check


def visit(page, base: str, path: str, axe, label: str) -> None:
    page.goto(base + path)
    axe(label)


def test_every_page_of_the_journey_is_accessible_and_quiet(
    live_server, page, axe, team, alice, bob, dave, carol
):
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    axe("login")
    sign_in(page, base, "alice")
    axe("dashboard (author)")

    page.get_by_role("link", name="New release").first.click()
    axe("new release form")
    page.get_by_label("Title").fill("Payments API 3.0")
    page.get_by_label("Repository").select_option(label="https://git.example.com/payments/api.git")
    page.get_by_label("Commit").fill(COMMIT)
    page.get_by_label("Version before").fill("2.9.0")
    page.get_by_label("Version after").fill("3.0.0")
    page.get_by_label("Rollback plan").fill("Redeploy 2.9.0.")
    page.get_by_label("Deployment steps").fill("Deploy, watch.")
    page.get_by_label("Known limitations").fill("None known.")
    page.get_by_role("button", name="Open draft").click()
    expect(page.get_by_test_id("status")).to_have_text("Draft")
    release = Release.objects.get(title="Payments API 3.0")
    axe("release page, draft with flash message")

    for item in release.items.filter(satisfied_by="manual"):
        workflow.set_item_state(
            release, item.key, actor=alice, state="done", evidence="https://ci.example.com/1"
        )
    visit(page, base, f"/releases/{release.pk}/edit/", axe, "edit form")
    page.goto(f"{base}/releases/{release.pk}/")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_test_id("status")).to_have_text("In review")
    axe("release page, in review with scans running")
    finish_queued_scans(release)
    from tests.helpers.release_steps import read_range

    read_range(release)
    visit(page, base, f"/releases/{release.pk}/review/", axe, "review page (author)")
    visit(page, base, "/history/", axe, "history (author)")
    visit(page, base, "/profile/", axe, "profile")
    visit(page, base, f"/teams/{team.slug}/repositories/", axe, "team repositories")
    sign_out(page)

    # A reviewer decides from the review page; a required group and a freeze are shown too.
    ReviewerGroup.objects.create(team=team, name="security", required=True).members.set([alice])
    sign_in(page, base, "bob")
    axe("dashboard (reviewer)")
    visit(page, base, f"/releases/{release.pk}/review/", axe, "review page (reviewer, group nobody fills)")
    ReviewerGroup.objects.all().delete()
    page.goto(f"{base}/releases/{release.pk}/review/")
    page.get_by_label("Comment").fill("Scans clean, rollback plan checked.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    axe("review page after approval")
    workflow.update_release(
        release.pk, actor=alice, data={"deployment_steps": "Deploy refund-queue-v2, watch."}
    )
    visit(page, base, f"/releases/{release.pk}/review/", axe, "review page with changes since approval")
    visit(page, base, f"/releases/{release.pk}/", axe, "release page (reviewer)")
    sign_out(page)

    # A hotfix with a waiver, a scan in error, a freeze: the states that say the way out.
    hotfix = workflow.create_release(
        actor=alice,
        team=team,
        data={"title": "Hotfix 3.0.1", "kind": "hotfix", "repository": release.repository.location,
              "commit": "6f" * 20, "version_before": "3.0.0", "version_after": "3.0.1",
              "rollback_plan": "Redeploy 3.0.0.", "deployment_steps": "Deploy.", "known_limitations": "None."},
    )  # fmt: skip
    for item in hotfix.items.filter(satisfied_by="manual"):
        workflow.set_item_state(hotfix, item.key, actor=alice, state="done", evidence="ok")
    workflow.set_item_state(hotfix, "handoff.oncall-briefed", actor=alice, state="waived", reason="incident")
    workflow.submit(hotfix, actor=alice)
    runs = list(ScanRun.objects.filter(release=hotfix, current=True))
    for n, run in enumerate(runs):
        workflow.claim_scan(run.pk)
        workflow.record_scan_result(run.pk, status="error" if n == 0 else "passed", error="unreachable")
    from django.utils import timezone

    now = timezone.now()
    FreezeWindow.objects.create(
        team=team, starts_at=now, ends_at=now + timezone.timedelta(hours=2), reason="year end"
    )
    sign_in(page, base, "alice")
    axe("dashboard with waiver debt and a scan error")
    visit(page, base, f"/releases/{hotfix.pk}/", axe, "hotfix with waiver, follow-up and freeze")
    visit(page, base, "/exceptions/", axe, "exception queue")
    standard = workflow.create_release(
        actor=alice, team=team,
        data={"title": "Blocked 3.1", "repository": release.repository.location, "commit": "7a" * 20},
    )  # fmt: skip
    visit(page, base, f"/releases/{standard.pk}/", axe, "standard draft blocked by team debt")
    sign_out(page)

    sign_in(page, base, "carol")
    visit(page, base, "/history/?status=approved", axe, "history filtered (manager)")
    visit(page, base, "/metrics/", axe, "metrics")
    visit(page, base, f"/releases/{release.pk}/review/", axe, "review page (manager)")
    before = len(page.problems)
    page.goto(base + reverse("checklists:history") + "?status=nonsense")
    axe("history with a wrong filter")
    expected = [p for p in page.problems[before:] if "400" in p]  # the 400 itself, on purpose
    assert len(expected) >= 1
    del page.problems[before:]

    assert len(axe.checked) >= 20
    assert page.problems == [], page.problems  # no CSP violation, script error or failed request
