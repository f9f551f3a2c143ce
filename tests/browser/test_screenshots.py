"""Screenshots of the main pages for docs/screenshots/, from the demo data.

Run on purpose, not in CI (it rewrites tracked images):
    RELEASEGATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser -m browser -k screenshots
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from checklists import workflow
from checklists.models import Membership, Release, ScanRun, Team
from tests.helpers.factories import UserFactory, add_member, make_release
from tests.helpers.release_steps import read_range

from ..helpers.browser import PASSWORD, PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _more_history() -> None:
    """A second team and a few weeks of releases, so history and metrics have something to show."""
    carl = UserFactory(username="erin", password=PASSWORD)
    frank = UserFactory(username="frank", password=PASSWORD)
    ledger = Team.objects.create(name="Ledger", slug="ledger", owner=frank)
    add_member(ledger, carl, Membership.Role.MEMBER)
    add_member(ledger, frank, Membership.Role.REVIEWER)
    for n in range(6):
        kind = "hotfix" if n % 3 == 0 else "standard"
        release = make_release(ledger, carl, title=f"Ledger export {n + 1}", kind=kind)
        for item in release.items.filter(satisfied_by="manual"):
            workflow.set_item_state(release, item.key, actor=carl, state="done", evidence="CI #" + str(n))
        workflow.submit(release, actor=carl)
        for run in ScanRun.objects.filter(release=release, current=True, status="queued"):
            workflow.claim_scan(run.pk)
            status = "failed" if (n == 1 and run.scanner == "secrets") else "passed"
            workflow.record_scan_result(run.pk, status=status, findings=[{"file": "cfg/prod.env", "line": 3}])
        read_range(release)
        if n != 1:
            workflow.sign_off(release, actor=frank, decision="approve", comment="ok")
            workflow.deploy(release, actor=carl)
            if n == 4:
                workflow.rollback(release, actor=carl, reason="Export job timed out.")
    failed_run = workflow.request_scans(
        Release.objects.get(title="Ledger export 2"), actor=carl, scanners=["auth_probe"], force=True
    )[0]
    workflow.claim_scan(failed_run.pk)
    workflow.record_scan_result(failed_run.pk, status="error", error="probe endpoint did not answer in 10 s")
    # Spread creation, submit and approval times over the last weeks (display data only).
    now = timezone.now()
    for i, release in enumerate(Release.objects.order_by("pk")):
        created = now - timedelta(days=3 * (14 - i), hours=i)
        times = {"created_at": created}
        if release.submitted_at:
            times["submitted_at"] = created + timedelta(hours=2)
        if release.approved_at:
            times["approved_at"] = created + timedelta(hours=2 + (i % 5) * 3 + 1)
        if release.deployed_at:
            times["deployed_at"] = created + timedelta(days=1)
        Release.objects.filter(pk=release.pk).update(**times)


@pytest.mark.skipif(not os.environ.get("RELEASEGATE_SCREENSHOTS"), reason="set RELEASEGATE_SCREENSHOTS=1")
def test_screenshots(live_server, browser_context, settings):
    from tests.helpers.factories import ensure_default_template

    ensure_default_template()
    settings.RELEASEGATE_DEMO = True
    call_command("seed_demo", password=PASSWORD, stdout=open(os.devnull, "w"))  # noqa: SIM115
    _more_history()
    OUT.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = browser_context.new_page()

    sign_in(page, base, "bob")
    page.screenshot(path=OUT / "dashboard.png", full_page=True)
    review = Release.objects.get(title="Currency rounding fix")
    page.goto(f"{base}/releases/{review.pk}/")
    page.screenshot(path=OUT / "release.png", full_page=True)
    page.screenshot(path=OUT / "release-top.png")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "alice")
    hotfix = Release.objects.get(title="Hotfix: double charge on retry")
    page.goto(f"{base}/releases/{hotfix.pk}/")
    page.screenshot(path=OUT / "release-hotfix.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "carol")
    page.goto(f"{base}/history/")
    page.screenshot(path=OUT / "history.png", full_page=True)
    page.goto(f"{base}/metrics/")
    page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length >= 1")
    page.screenshot(path=OUT / "metrics.png", full_page=True)
    page.goto(f"{base}/exceptions/")
    page.screenshot(path=OUT / "exceptions.png", full_page=True)

    phone = browser_context.new_page()
    phone.set_viewport_size(PHONE)
    sign_in(phone, base, "bob")
    phone.goto(f"{base}/releases/{review.pk}/")
    phone.screenshot(path=OUT / "release-phone.png")
