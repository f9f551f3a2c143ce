"""Release detail, gate and list run a constant number of queries, whatever the release holds."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from checklists import workflow
from checklists.models import ChecklistItem, ScanRun, SignOff

from .helpers.api import API, client_for, release_url
from .helpers.factories import make_release


def grow(release, alice, bob, dave, *, times: int = 10):
    """Give a release many more items, stale sign-offs, old scan runs and audit events."""
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            release=release,
            key=f"extra.item-{n}",
            category="operations",
            title=f"Extra {n}",
            required=False,
            satisfied_by="manual",
            order=100 + n,
        )
        for n in range(times * 3)
    )
    for n in range(times):
        SignOff.objects.create(
            release=release,
            reviewer=bob if n % 2 else dave,
            decision="reject",
            comment="again",
            commit=release.commit,
            checklist_digest="0" * 64,
            stale=True,
        )
        ScanRun.objects.create(release=release, scanner="secrets", commit=release.commit, current=False)
        workflow.set_item_state(release, f"extra.item-{n}", actor=alice, state="done", evidence=f"run {n}")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code in (200, 409), response.content[:300]
    return len(ctx.captured_queries)


def test_release_detail_queries_do_not_grow(approved, alice, bob, dave, django_assert_max_num_queries):
    client = client_for(alice)
    url = release_url(approved)
    small = count_queries(client, url)
    grow(approved, alice, bob, dave)
    with django_assert_max_num_queries(small):
        body = client.get(url).json()
    assert len(body["items"]) == 19 + 30 and len(body["signoffs"]) >= 11 and len(body["scans"]) >= 16
    assert all(item["set_by"] for item in body["items"] if item["key"].startswith("extra.item-")
               and item["state"] == "done")  # fmt: skip
    # token, managers group, release, its items, sign-offs, scans, follow-ups; then the abilities:
    # production's commit, the reader's role, counting approvals, required groups, freeze windows
    assert small <= 12


def test_an_open_gate_is_answered_from_the_token_and_one_statement(
    approved, alice, bob, dave, ci_user, django_assert_max_num_queries
):
    client = client_for(ci_user)
    url = release_url(approved, f"gate/?commit={approved.commit}")
    with django_assert_max_num_queries(2):  # the token (with its user), then checklists/policy/gate.py
        assert client.get(url).status_code == 200


def test_closed_gate_queries_do_not_grow(approved, alice, bob, dave, ci_user, django_assert_max_num_queries):
    client = client_for(ci_user)
    wrong = release_url(approved, f"gate/?commit={'0' * 40}")  # closed: not the release's commit
    small = count_queries(client, wrong)
    grow(approved, alice, bob, dave)  # this also sends it back to review
    with django_assert_max_num_queries(small):
        assert client.get(release_url(approved, f"gate/?commit={approved.commit}")).status_code == 409
    # token, the open-gate statement, the release with its facts, approvals counted once
    assert small <= 5


def test_list_queries_do_not_grow_with_the_page(team, alice, django_assert_max_num_queries):
    client = client_for(alice)
    make_release(team, alice)
    small = count_queries(client, f"{API}/releases/?page_size=100")
    for _ in range(15):
        make_release(team, alice)
    with django_assert_max_num_queries(small):
        assert client.get(f"{API}/releases/?page_size=100").json()["count"] == 16
    assert small <= 5


def test_exception_queue_queries_do_not_grow(release, alice, django_assert_max_num_queries):
    client = client_for(alice)
    for scanner in ("secrets", "debug_off", "mock_flag"):
        run = workflow.request_scans(release, actor=None, scanners=[scanner])[0]
        workflow.claim_scan(run.pk)
        workflow.record_scan_result(run.pk, status="error", error="boom")
    with django_assert_max_num_queries(5):
        assert client.get(f"{API}/exceptions/").json()["count"] == 3
