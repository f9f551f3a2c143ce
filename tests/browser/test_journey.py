"""The whole journey in a real Chromium: author, reviewer, manager."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from checklists.models import ChecklistItem, Release
from checklists.templatetags.releasegate import dom_id
from tests.helpers.release_steps import finish_queued_scans, read_range

from ..helpers.browser import PHONE, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMMIT = "3f2a9c1d" * 5


def test_author_reviewer_and_manager_journey(live_server, page, team, alice, bob, carol, tmp_path):
    base = live_server.url
    sign_in(page, base, "alice")

    # Create a release through the form.
    page.get_by_role("link", name="New release").first.click()
    page.get_by_label("Title").fill("Payments API 2.5")
    page.get_by_label("Repository").select_option(label="https://git.example.com/payments/api.git")
    page.get_by_label("Commit").fill(COMMIT)
    page.get_by_label("Version before").fill("2.4.0")
    page.get_by_label("Version after").fill("2.5.0")
    page.get_by_label("Rollback plan").fill("Redeploy 2.4.0 with the deploy job.")
    page.get_by_label("Deployment steps").fill("1. Migrate. 2. Deploy. 3. Watch errors.")
    page.get_by_label("Known limitations").fill("Refunds over 10k need a manual step.")
    page.get_by_role("button", name="Open draft").click()
    expect(page.get_by_test_id("status")).to_have_text("Draft")
    release = Release.objects.get(title="Payments API 2.5")
    assert page.url.endswith(f"/releases/{release.pk}/")

    # Tick every manual item in place: no reload (the marker set now survives), progress moves.
    page.evaluate("window.e2eMarker = 'still here'")
    loaded_at = page.evaluate("window.releasegate.loadedAt")
    manual = list(release.items.filter(satisfied_by="manual").values_list("key", flat=True))
    overall = page.get_by_test_id("overall-progress")
    before = int(overall.inner_text().split("/")[0])
    for n, key in enumerate(manual):
        row = page.locator(f"#item-{dom_id(key)}")
        evidence = row.get_by_placeholder("Evidence: a link or a note (optional)")
        evidence.fill(f"https://ci.example.com/runs/{n}")
        if n == 0:
            evidence.press("Enter")  # keyboard works as well as the mouse
        else:
            row.get_by_role("button", name="Tick").click()
        expect(page.locator(f"#item-{dom_id(key)}")).to_have_attribute("data-state", "done")
    expect(overall).to_have_text(re.compile(rf"^{before + len(manual)} / "))
    assert page.evaluate("window.e2eMarker") == "still here"
    assert page.evaluate("window.releasegate.loadedAt") == loaded_at
    bar = page.locator("#checklist .progress-bar").first
    assert bar.evaluate("el => el.style.width") != "0%"
    assert set(
        ChecklistItem.objects.filter(release=release, key__in=manual).values_list("state", flat=True)
    ) == {"done"}

    # Submit; the scans it queues are reported by the "worker", and the page follows by polling.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_test_id("status")).to_have_text("In review")
    page.evaluate("window.e2eMarker = 'polled, not reloaded'")
    scans = page.locator("#scans")
    expect(scans).to_have_attribute("hx-trigger", "every 2s")
    assert finish_queued_scans(release) == 6
    read_range(release)  # what ships, as the worker reads it
    expect(page.locator('#scans .scan-row[data-status="passed"]')).to_have_count(6)
    expect(page.locator("#scans")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator('#checklist [data-state="done"]')).to_have_count(len(manual) + 4 + 6)
    assert page.evaluate("window.e2eMarker") == "polled, not reloaded"

    # The author may not approve, and is told why.
    expect(page.get_by_test_id("signoff-refusal")).to_have_text(
        "You are the author of this release; someone else must review it."
    )
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    sign_out(page)

    # A reviewer approves.
    sign_in(page, base, "bob")
    expect(page.get_by_test_id("awaiting-review")).to_contain_text("Payments API 2.5")
    page.get_by_role("link", name=re.compile("Payments API 2.5")).first.click()
    page.get_by_label("Comment").fill("Rollback plan checked; scans clean.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    assert page.url.endswith(f"/releases/{release.pk}/review/")  # the reviewer decided from the review page
    page.goto(f"{base}/releases/{release.pk}/")
    expect(page.locator("#signoffs")).to_contain_text("Rollback plan checked")
    sign_out(page)

    # A manager reads the history and exports it as CSV.
    sign_in(page, base, "carol")
    page.get_by_role("link", name="History").click()
    page.get_by_label("Status").select_option("approved")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".history-table tbody tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["title"], r["status"], r["author"]) for r in rows] == [
        ("Payments API 2.5", "approved", "alice")
    ]
    page.goto(f"{base}/releases/{release.pk}/")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_test_id("signoff-refusal")).to_have_text("You are not a reviewer of team payments.")

    assert page.problems == [], page.problems  # no CSP violation, no script error on any page


def test_refused_item_change_shows_the_reason_in_place(live_server, page, team, alice, release):
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    row = page.locator("#item-correctness-idempotency-tested")
    row.get_by_text("Not applicable…").click()
    row.get_by_label(re.compile("does not apply")).fill("   ")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("item-error")).to_contain_text("Give a reason.")
    expect(page.locator("#item-correctness-idempotency-tested")).to_have_attribute("data-state", "open")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1366, "height": 900}], ids=["phone", "desktop"])
def test_release_page_fits_the_screen(live_server, browser_context, team, alice, release, viewport):
    page = browser_context.new_page()
    page.set_viewport_size(viewport)
    sign_in(page, live_server.url, "alice")
    for path in [f"/releases/{release.pk}/", "/history/", "/"]:
        page.goto(live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, viewport, overflow)
