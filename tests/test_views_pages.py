"""Dashboard, history and CSV export, exception queue, profile and sign-in."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from checklists import workflow
from checklists.models import ScanRun
from checklists.views.history import csv_safe

from .helpers.factories import TeamFactory, add_member, make_release
from .helpers.release_steps import tick_manual_items

PAGES = ["dashboard", "history", "history_csv", "exceptions", "profile", "metrics", "release_create"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_sends_anonymous_visitors_to_sign_in(client, db, name):
    response = client.get(reverse(f"checklists:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_sign_in_page_is_public_and_signs_in(client, alice):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("checklists:dashboard")


def test_sign_out_is_a_post(client, alice):
    client.force_login(alice)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("checklists:dashboard")).status_code == 302


@pytest.mark.parametrize("name", ["dashboard", "history", "exceptions", "profile"])
def test_pages_render_for_a_member(client, alice, release, name):
    client.force_login(alice)
    assert client.get(reverse(f"checklists:{name}")).status_code == 200


def test_pages_carry_no_inline_script_style_or_handler(client, alice, carol, in_review):
    """The CSP forbids inline code: every script has a src, data travels in json_script."""
    client.force_login(carol)
    pages = [reverse("checklists:release", args=[in_review.pk]), reverse("checklists:metrics")]
    client.force_login(alice)
    pages += [
        reverse("checklists:dashboard"),
        reverse("checklists:history"),
        reverse("checklists:release_create"),
    ]
    for path in pages:
        if "metrics" in path:
            client.force_login(carol)
        html = client.get(path).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "cdn" not in html.lower(), path


# --- dashboard ---------------------------------------------------------------------


def test_dashboard_lists_what_waits_for_my_review_only_if_i_may_approve(client, alice, bob, dave, in_review):
    client.force_login(bob)
    waiting = client.get(reverse("checklists:dashboard")).context["awaiting_review"]
    assert list(waiting) == [in_review]
    workflow.sign_off(in_review, actor=bob, decision="reject", comment="fix the rollback plan")
    assert list(client.get(reverse("checklists:dashboard")).context["awaiting_review"]) == []
    client.force_login(alice)  # the author: never asked to review their own release
    assert list(client.get(reverse("checklists:dashboard")).context["awaiting_review"]) == []


def test_dashboard_shows_my_drafts_and_my_teams_activity(client, alice, mallory, release):
    client.force_login(alice)
    response = client.get(reverse("checklists:dashboard"))
    assert list(response.context["drafts"]) == [release]
    assert any(e.verb == "release.created" for e in response.context["events"])
    client.force_login(mallory)
    response = client.get(reverse("checklists:dashboard"))
    assert list(response.context["events"]) == []
    assert release.title not in response.content.decode()


def test_dashboard_flags_waived_items_and_scans_in_error(client, alice, hotfix):
    workflow.set_item_state(
        hotfix, "correctness.idempotency-tested", actor=alice, state="waived", reason="incident 9"
    )
    run = workflow.request_scans(hotfix, actor=alice, scanners=["secrets"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.ERROR, error="repository unreachable")
    client.force_login(alice)
    html = client.get(reverse("checklists:dashboard")).content.decode()
    assert "incident 9" in html
    assert "scan error" in html


# --- history --------------------------------------------------------------------------


def test_history_filters_by_status_text_and_team(client, alice, release, approved):
    other = make_release(release.team, alice, title="Ledger sync 1.0")
    client.force_login(alice)
    rows = client.get(reverse("checklists:history"), {"status": "approved"}).context["page"].object_list
    assert [row.id for row in rows] == [approved.pk]
    rows = client.get(reverse("checklists:history"), {"q": "ledger"}).context["page"].object_list
    assert [row.id for row in rows] == [other.pk]
    rows = client.get(reverse("checklists:history"), {"team": "payments", "kind": "standard"}).context["page"]
    assert rows.paginator.count == 2  # `approved` is `release`, moved on


def test_history_filters_by_date_range(client, alice, release):
    client.force_login(alice)
    today = timezone.now().date()
    page = client.get(reverse("checklists:history"), {"since": today.isoformat()}).context["page"]
    assert page.paginator.count == 1
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert client.get(reverse("checklists:history"), {"since": tomorrow}).context["page"].paginator.count == 0


def test_history_sorts_by_column(client, alice, team):
    for title in ["b release", "a release", "c release"]:
        make_release(team, alice, title=title)
    client.force_login(alice)
    titles = [r.title for r in client.get(reverse("checklists:history"), {"o": "title"}).context["page"]]
    assert titles == ["a release", "b release", "c release"]
    titles = [r.title for r in client.get(reverse("checklists:history"), {"o": "-title"}).context["page"]]
    assert titles == ["c release", "b release", "a release"]


def test_history_shows_an_outsider_nothing(client, mallory, release):
    client.force_login(mallory)
    assert client.get(reverse("checklists:history")).context["page"].paginator.count == 0
    assert release.title not in client.get(reverse("checklists:history_csv")).getvalue().decode()


def test_history_paginates(client, alice, team):
    for i in range(27):
        make_release(team, alice, title=f"r{i}")
    client.force_login(alice)
    page2 = client.get(reverse("checklists:history"), {"page": 2}).context["page"]
    assert (page2.number, len(page2.object_list), page2.paginator.count) == (2, 2, 27)


def test_history_page_runs_a_constant_number_of_queries(
    client, alice, carol, team, django_assert_max_num_queries
):
    make_release(team, alice)
    client.force_login(carol)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("checklists:history"), {"o": "-created"})
    other = TeamFactory(slug="ledger")
    add_member(other, alice)
    for i in range(30):
        make_release(other if i % 2 else team, alice, title=f"r{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("checklists:history"), {"o": "-created"})
    assert len(response.context["page"].object_list) == 25


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
        (7, "7"),
    ],
)
def test_csv_cells_are_escaped_against_formula_injection(value, expected):
    assert csv_safe(value) == expected


def test_csv_export_has_the_filtered_rows_escaped(client, alice, carol, team):
    make_release(team, alice, title="=cmd|' /C calc'!A0", version_after="-1")
    make_release(team, alice, title="harmless")
    client.force_login(carol)
    response = client.get(reverse("checklists:history_csv"), {"q": "cmd"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(rows) == 1
    assert rows[0]["title"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["version_after"] == "'-1"
    assert rows[0]["author"] == "alice"


# --- exception queue and profile -------------------------------------------------------


def test_exception_queue_lists_errors_with_owner_and_reruns(client, alice, bob, mallory, release):
    tick_manual_items(release, alice)
    run = workflow.request_scans(release, actor=alice, scanners=["auth_probe"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.ERROR, error="endpoint timed out")
    client.force_login(alice)
    html = client.get(reverse("checklists:exceptions")).content.decode()
    assert "endpoint timed out" in html and "auth_probe" in html and "bob" in html
    response = client.post(reverse("checklists:rerun_scan", args=[run.pk]))
    assert response.status_code == 302
    assert ScanRun.objects.get(release=release, scanner="auth_probe", current=True).status == "queued"
    client.force_login(mallory)
    assert "endpoint timed out" not in client.get(reverse("checklists:exceptions")).content.decode()
    assert client.post(reverse("checklists:rerun_scan", args=[run.pk])).status_code == 404


def test_profile_shows_and_rotates_the_api_token(client, alice):
    client.force_login(alice)
    assert client.get(reverse("checklists:profile")).context["token"] is None
    client.post(reverse("checklists:rotate_token"))
    first = Token.objects.get(user=alice).key
    assert first in client.get(reverse("checklists:profile")).content.decode()
    client.post(reverse("checklists:rotate_token"))
    assert Token.objects.get(user=alice).key != first
    assert client.get(reverse("checklists:rotate_token")).status_code == 405


def test_history_filters_keep_their_values_escaped(client, release, alice):
    client.force_login(alice)
    page = client.get(
        reverse("checklists:history"),
        {"team": "payments", "status": "draft", "author": '"><b>x', "since": "2026-01-02"},
    ).content.decode()
    assert '<option value="payments" selected>Payments</option>' in page
    assert '<option value="draft" selected>Draft</option>' in page
    assert '<option value="in_review">In review</option>' in page
    assert (
        'name="author" id="id_author" class="form-control form-control-sm" value="&quot;&gt;&lt;b&gt;x"'
        in page
    )
    assert '<input type="date" name="since" id="id_since"' in page and 'value="2026-01-02"' in page
    assert '<label class="form-label small" for="id_team">' in page


def test_history_counts_at_most_the_cap_and_says_so(client, team, alice, monkeypatch):
    from checklists.web.paging import CappedPaginator, KeysetPage

    monkeypatch.setattr(KeysetPage, "count_cap", 3)  # newest first: pages by position
    monkeypatch.setattr(CappedPaginator, "cap", 4)  # another order: numbered pages
    for _ in range(6):
        make_release(team, alice)
    client.force_login(alice)
    response = client.get(reverse("checklists:history"))
    paginator = response.context["page"].paginator
    assert (paginator.count, paginator.capped) == (4, True)
    assert "Export CSV (more than 3 rows)" in response.content.decode()
    sorted_page = client.get(reverse("checklists:history"), {"o": "title"})
    numbered = sorted_page.context["page"].paginator
    assert (numbered.count, numbered.capped) == (5, True)
    assert "Export CSV (more than 4 rows)" in sorted_page.content.decode()
    csv_rows = client.get(reverse("checklists:history_csv")).getvalue().decode().strip().splitlines()
    assert len(csv_rows) == 1 + 6  # the export is never capped
