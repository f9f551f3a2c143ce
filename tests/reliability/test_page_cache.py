"""The release page's cached fragments never show a stale state.

After every workflow function that changes a release, the page served with the fragment
cache must equal the page rendered with the cache off, for a member (forms) and a
manager (read-only). Also: an unchanged release is served from the cache, and a cached
form carries the viewer's own CSRF token.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from checklists import workflow
from checklists.models import FollowUp, ScanRun
from tests.helpers.release_steps import pass_scans_in_review, read_range, tick_manual_items

pytestmark = pytest.mark.reliability
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')
JUNIT = b'<testsuite name="unit" tests="2" failures="0" errors="0"><testcase name="a"/><testcase name="b"/></testsuite>'


def page(client: Client, release) -> str:
    response = client.get(f"/releases/{release.pk}/")
    assert response.status_code == 200
    return TOKEN.sub("TOKEN", response.content.decode())


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    with override_settings(RELEASEGATE_FRAGMENT_CACHE_SECONDS=300):
        yield
    cache.clear()


def uncached():
    return override_settings(RELEASEGATE_FRAGMENT_CACHE_SECONDS=0)


@pytest.fixture
def viewers(alice, carol, team):
    return [client_for(alice), client_for(carol)]


def assert_not_stale(viewers, release, what: str) -> None:
    release.refresh_from_db()
    for client in viewers:
        cached = page(client, release)  # the cache was filled by the view before the change
        with uncached():
            fresh = page(client, release)
        assert cached == fresh, f"stale page after {what}"


def test_every_workflow_change_shows_on_the_cached_page(viewers, release, alice, bob, dave):
    def step(what: str, change) -> None:
        for client in viewers:
            page(client, release)  # fill the cache with the state before
        change()
        assert_not_stale(viewers, release, what)

    manual = release.items.filter(satisfied_by="manual").values_list("key", flat=True)
    step("set_item_state (tick)", lambda: workflow.set_item_state(release, manual[0], actor=alice, state="done",
                                                                  evidence="https://ci/1"))  # fmt: skip
    step("set_item_state (evidence)", lambda: workflow.set_item_state(release, manual[0], actor=alice,
                                                                      state="done", evidence="https://ci/2"))  # fmt: skip
    step(
        "set_item_state (not applicable)",
        lambda: workflow.set_item_state(
            release,
            "correctness.idempotency-tested",
            actor=alice,
            state="not_applicable",
            reason="no retries",
        ),
    )
    step(
        "update_release",
        lambda: workflow.update_release(release, actor=alice, data={"version_after": "2.5.0"}),
    )
    step("request_scans", lambda: workflow.request_scans(release, actor=alice, force=True))

    def finish_scans(status):
        for run in ScanRun.objects.filter(release=release, current=True, status="queued"):
            workflow.claim_scan(run.pk)
            workflow.record_scan_result(run.pk, status=status)

    step("record_scan_result (failed)", lambda: finish_scans("failed"))
    step("request_scans (forced re-run)", lambda: workflow.request_scans(release, actor=alice, force=True))
    step("record_scan_result (passed)", lambda: finish_scans("passed"))
    step("store_test_report", lambda: workflow.store_test_report(release, actor=alice, content=JUNIT))
    step("tick everything", lambda: tick_manual_items(release, alice))
    step("submit", lambda: workflow.submit(release, actor=alice))
    step("scans in review", lambda: pass_scans_in_review(release))
    step("sign_off (reject)", lambda: workflow.sign_off(release, actor=bob, decision="reject", comment="no"))
    step("submit again", lambda: workflow.submit(release, actor=alice))
    step("scans again", lambda: pass_scans_in_review(release))
    step("a worker reads what ships", lambda: read_range(release))
    step("sign_off (approve)", lambda: workflow.sign_off(release, actor=dave, decision="approve"))
    step("deploy", lambda: workflow.deploy(release, actor=alice))
    step("rollback", lambda: workflow.rollback(release, actor=alice, reason="error rate"))


def test_cancel_and_follow_up_closing_show_on_the_cached_page(viewers, team, hotfix, alice, dave):
    def step(what, change, release):
        for client in viewers:
            page(client, release)
        change()
        assert_not_stale(viewers, release, what)

    tick_manual_items(hotfix, alice)
    step("waive", lambda: workflow.set_item_state(hotfix, "handoff.oncall-briefed", actor=alice, state="waived",
                                                  reason="incident"), hotfix)  # fmt: skip
    step("submit a hotfix with a waiver", lambda: workflow.submit(hotfix, actor=alice), hotfix)
    followup = FollowUp.objects.get(release=hotfix)
    step(
        "close_followup",
        lambda: workflow.close_followup(followup, actor=dave, evidence="https://wiki/1"),
        hotfix,
    )
    step("cancel", lambda: workflow.cancel(hotfix, actor=alice, reason="superseded"), hotfix)


def test_an_unchanged_release_is_served_from_the_cache(alice, release):
    client = client_for(alice)

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/releases/{release.pk}/")
        # Read now: Django empties the query log when the next request starts.
        return [q["sql"] for q in captured.captured_queries]

    with uncached():
        fresh = queries()
    client.get(f"/releases/{release.pk}/")  # fills the cache
    cached = queries()
    assert any("checklists_auditevent" in sql for sql in fresh)
    assert len(cached) < len(fresh)
    assert not any("checklists_auditevent" in sql for sql in cached)  # the timeline's events are not read


def test_a_cached_form_carries_the_viewers_own_csrf_token(alice, ci_user, release):
    first = client_for(alice)
    page(first, release)  # fills the cache with alice's view
    second = Client(enforce_csrf_checks=True)
    second.force_login(ci_user)
    html = second.get(f"/releases/{release.pk}/").content.decode()
    key = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    form = re.search(
        rf'action="/releases/{release.pk}/items/{re.escape(key)}/".*?value="([^"]+)"', html, re.S
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html[form.start() :]).group(1)
    response = second.post(
        f"/releases/{release.pk}/items/{key}/", {"state": "done", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.status_code
    assert release.items.get(key=key).state == "done"


# Strings a user could write that a cache with a fixed placeholder would have turned into
# the next viewer's CSRF token: the old placeholder, and strings shaped like a marker.
MARKER_LIKE = [
    "rg-csrf-placeholder-7f3a",
    "rgcsrf" + "0" * 32,
    "rgcsrf",
    "csrfmiddlewaretoken",
    "{{ csrf_token }}",
]


@pytest.mark.parametrize("text", MARKER_LIKE)
def test_user_text_in_a_cached_fragment_is_shown_as_written_to_every_viewer(alice, ci_user, release, text):
    key = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    workflow.set_item_state(release, key, actor=alice, state="done", evidence=f"see {text} here")
    page(client_for(alice), release)  # alice's view fills the cache
    second = client_for(ci_user)
    html = second.get(f"/releases/{release.pk}/").content.decode()
    with uncached():
        fresh = second.get(f"/releases/{release.pk}/").content.decode()
    shown = f"see {text} here"
    assert html.count(shown) == fresh.count(shown) >= 1, text
    # The token appears only where a form or htmx puts it, as many times as without the cache.
    assert len(TOKEN.findall(html)) == len(TOKEN.findall(fresh))
    assert "rgcsrf" not in html.replace(text, "")  # no marker ever leaves the server
