"""History: a wrong filter is named (never ignored), newest-first pages by position, CSV with approvers and waivers."""

import csv
import io

import pytest
from django.urls import reverse

from checklists import workflow
from checklists.models import Release

from .helpers.factories import make_release
from .helpers.release_steps import pass_scans_in_review, ready_for_review, tick_manual_items


@pytest.mark.parametrize(
    "params, label",
    [
        ({"status": "shipped"}, "Status"),
        ({"team": "nope"}, "Team"),
        ({"kind": "weird"}, "Kind"),
        ({"since": "yesterday"}, "Created from"),
        ({"until": "2026-13-45"}, "Created until"),
        ({"o": "password"}, "Sort by"),
        ({"after": "not-a-position"}, "Page position"),
    ],
)
def test_a_wrong_filter_is_named_and_shows_no_rows(client, alice, release, params, label):
    client.force_login(alice)
    response = client.get(reverse("checklists:history"), params)
    assert response.status_code == 400
    html = response.content.decode()
    errors = html.split('data-testid="filter-errors"')[1].split("</div>")[0]
    assert f"<strong>{label}</strong>" in errors
    assert release.title not in html  # never the unfiltered rows
    export = client.get(reverse("checklists:history_csv"), params)
    if label != "Page position":
        assert export.status_code == 400 and label in export.content.decode()


def test_newest_first_pages_by_position_through_every_row(client, team, alice, settings):
    for n in range(60):
        make_release(team, alice, title=f"Release {n:02d}")
    client.force_login(alice)
    seen, params = [], {}
    for _ in range(5):
        response = client.get(reverse("checklists:history"), params)
        page = response.context["page"]
        seen += [r.id for r in page.object_list]
        if not page.has_next:
            break
        params = {"after": page.next_position}
    expected = list(Release.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    back = client.get(reverse("checklists:history"), {"before": page.previous_position}).context["page"]
    assert [r.id for r in back.object_list] == expected[25:50]
    assert "Older" not in response.content.decode().split('aria-label="Pages"')[1]


def test_a_deep_position_page_runs_the_same_queries_as_the_first(
    client, team, alice, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(30):
        make_release(team, alice, title=f"Release {n:02d}")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as first:
        page = client.get(reverse("checklists:history")).context["page"]
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("checklists:history"), {"after": page.next_position})


def test_the_csv_carries_approvers_and_waivers(client, team, alice, bob, dave):
    team.required_approvals = 2
    team.save()
    release = ready_for_review(make_release(team, alice, title="Two approvals"), alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    workflow.sign_off(release, actor=dave, decision="approve")
    hotfix = make_release(team, alice, kind="hotfix", title="Hotfix waived")
    tick_manual_items(hotfix, alice)
    workflow.set_item_state(
        hotfix, "handoff.oncall-briefed", actor=alice, state="waived", reason="=incident 7"
    )
    workflow.submit(hotfix, actor=alice)
    pass_scans_in_review(hotfix)
    client.force_login(alice)
    rows = {
        r["title"]: r
        for r in csv.DictReader(
            io.StringIO(b"".join(client.get(reverse("checklists:history_csv")).streaming_content).decode())
        )
    }
    assert rows["Two approvals"]["approvers"] == "bob; dave"
    waived = hotfix.items.get(key="handoff.oncall-briefed").title
    assert rows["Hotfix waived"]["waivers"] == f"{waived}: =incident 7"
    assert rows["Hotfix waived"]["approvers"] == ""


def test_the_csv_runs_a_constant_number_of_queries(client, team, alice, bob, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    ready_for_review(make_release(team, alice), alice)
    with CaptureQueriesContext(connection) as small:
        b"".join(client.get(reverse("checklists:history_csv")).streaming_content)
    for _ in range(5):
        release = ready_for_review(make_release(team, alice), alice)
        workflow.sign_off(release, actor=bob, decision="approve")
    with django_assert_max_num_queries(len(small.captured_queries)):
        b"".join(client.get(reverse("checklists:history_csv")).streaming_content)


def test_rows_and_team_choices_are_escaped(client, team, alice):
    """The rows and the team select are written without templates: every value is escaped."""
    team.name = '<img src=x onerror="alert(1)">&co'
    team.save(update_fields=["name"])
    alice.username = "al<i>ce"
    alice.save(update_fields=["username"])
    made = make_release(team, alice, title='</a><script>alert("t")</script>')
    client.force_login(alice)
    page = client.get(reverse("checklists:history")).content.decode()
    row = page.split(f"<td>#{made.pk}</td>")[1].split("</tr>")[0]
    assert "&lt;/a&gt;&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in row
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;co" in row
    assert "al&lt;i&gt;ce" in row
    assert "<script>" not in page and "<img src=x" not in page
    option = f'<option value="{team.slug}">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;co</option>'
    assert option in page


@pytest.mark.parametrize(
    "params", [{}, {"o": "title"}, {"o": "-team"}], ids=["newest first", "title", "team"]
)
def test_the_count_neither_sorts_nor_joins(client, team, alice, params):
    """How many rows match does not depend on their order: the count must not sort 100,000 rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(3):
        make_release(team, alice, title=f"Release {n}")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("checklists:history"), params).status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1
    assert "ORDER BY" not in counts[0] and "JOIN" not in counts[0]


@pytest.mark.parametrize("order", ["title", "-title", "status"])
def test_numbered_pages_of_a_sorted_history_neither_repeat_nor_skip_ties(client, team, alice, order):
    """Sixty releases share a title and a status: the id breaks the tie, so pages are stable."""
    made = [make_release(team, alice, title="Same title").pk for _ in range(60)]
    client.force_login(alice)
    seen = []
    for number in (1, 2, 3):
        page = client.get(reverse("checklists:history"), {"o": order, "page": number}).context["page"]
        seen += [row.id for row in page.object_list]
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert seen == (sorted(made, reverse=True) if order.startswith("-") else sorted(made))
