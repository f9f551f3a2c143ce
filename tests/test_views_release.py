"""The release page and its actions, for each role."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import workflow
from checklists.models import ChecklistItem, Release, ScanRun

from .helpers.release_steps import grow, item, pass_scans_in_review, tick_manual_items

MANUAL_KEY = "correctness.idempotency-tested"


def url(release, name="release", **kwargs):
    return reverse(f"checklists:{name}", kwargs={"pk": release.pk, **kwargs})


def item_url(release, key=MANUAL_KEY):
    return url(release, "item_update", key=key)


def htmx(client, path, data):
    return client.post(path, data, HTTP_HX_REQUEST="true")


# --- who sees what ----------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, release):
    response = client.get(url(release))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_outsider_gets_404_for_a_release_of_another_team(client, mallory, release):
    client.force_login(mallory)
    assert client.get(url(release)).status_code == 404
    assert client.post(item_url(release), {"state": "done"}).status_code == 404
    assert item(release, MANUAL_KEY).state == "open"


def test_manager_reads_the_release_without_any_write_button(client, carol, in_review):
    client.force_login(carol)
    response = client.get(url(in_review))
    html = response.content.decode()
    assert response.status_code == 200
    assert in_review.title in html
    for control in (
        "Tick",
        "Re-open",
        "Submit for review",
        "Approve",
        "Re-run all",
        "Cancel…",
        "Edit details",
    ):
        assert control not in html, control
    assert "You are not a reviewer of team payments." in html


def test_manager_write_is_refused_with_403(client, carol, release):
    client.force_login(carol)
    response = client.post(item_url(release), {"state": "done", "evidence": "x"})
    assert response.status_code == 403
    assert "not a member of team payments" in response.content.decode()
    assert item(release, MANUAL_KEY).state == "open"
    assert client.post(url(release, "release_submit")).status_code == 403


def test_author_sees_no_approve_button_and_the_reason(client, alice, in_review):
    client.force_login(alice)
    html = client.get(url(in_review)).content.decode()
    assert 'value="approve"' not in html
    assert "You are the author of this release; someone else must review it." in html


def test_author_posting_an_approval_is_refused(client, alice, in_review):
    client.force_login(alice)
    response = client.post(url(in_review, "release_signoff"), {"decision": "approve", "comment": "me"})
    assert response.status_code == 403
    assert "You are the author of this release" in response.content.decode()
    assert not in_review.signoffs.exists()


def test_reviewer_sees_approve_button_and_approving_works(client, bob, in_review):
    client.force_login(bob)
    html = client.get(url(in_review)).content.decode()
    assert 'value="approve"' in html
    response = client.post(url(in_review, "release_signoff"), {"decision": "approve", "comment": "ok"})
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == Release.Status.APPROVED
    html = client.get(url(in_review)).content.decode()
    assert "approved" in html
    assert "You have signed off this state of the release." in html or 'value="approve"' not in html


def test_rejection_without_comment_shows_why(client, bob, in_review):
    client.force_login(bob)
    response = client.post(url(in_review, "release_signoff"), {"decision": "reject", "comment": ""})
    assert response.status_code == 400
    assert "A rejection needs a comment." in response.content.decode()


# --- the checklist in place ----------------------------------------------------------


def test_ticking_an_item_with_htmx_returns_the_checklist_and_updated_progress(client, alice, release):
    client.force_login(alice)
    before = client.get(url(release)).context["overall"]
    response = htmx(client, item_url(release), {"state": "done", "evidence": "https://ci.example/run/7"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="checklist"')
    assert 'id="release-header" class="mb-2" hx-swap-oob="true"' in html
    assert 'id="timeline"' in html
    assert response.context["overall"].done == before.done + 1
    assert "https://ci.example/run/7" in html
    done = item(release, MANUAL_KEY)
    assert (done.state, done.set_by, done.evidence) == ("done", alice, "https://ci.example/run/7")


def test_a_refused_item_change_is_shown_inline_for_htmx(client, alice, release):
    client.force_login(alice)
    response = htmx(client, item_url(release), {"state": "waived", "reason": "incident"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="item-error"' in html
    assert "Only hotfix releases may waive items" in html
    assert item(release, MANUAL_KEY).state == "open"


def test_skipping_without_reason_is_refused_inline(client, alice, release):
    client.force_login(alice)
    response = htmx(client, item_url(release), {"state": "not_applicable", "reason": " "})
    assert response.status_code == 400
    assert "Give a reason." in response.content.decode()


def test_hotfix_waiver_shows_in_the_banner(client, alice, hotfix):
    client.force_login(alice)
    response = htmx(client, item_url(hotfix), {"state": "waived", "reason": "incident 4711, test after"})
    assert response.status_code == 200
    page = client.get(url(hotfix)).content.decode()
    assert 'data-testid="hotfix-banner"' in page
    assert "incident 4711, test after" in page


def test_plain_form_post_redirects_back_to_the_item(client, alice, release):
    client.force_login(alice)
    response = client.post(item_url(release), {"state": "done"})
    assert response.status_code == 302
    assert response["Location"].endswith("#item-correctness-idempotency-tested")


def test_reopening_an_item_works_in_place(client, alice, release):
    client.force_login(alice)
    workflow.set_item_state(release, MANUAL_KEY, actor=alice, state="done")
    response = htmx(client, item_url(release), {"state": "open"})
    assert response.status_code == 200
    assert item(release, MANUAL_KEY).state == "open"


def test_unknown_item_is_404(client, alice, release):
    client.force_login(alice)
    assert client.post(item_url(release, "nope.nope"), {"state": "done"}).status_code == 404


# --- transitions -------------------------------------------------------------------------


def test_submit_with_open_items_lists_what_blocks(client, alice, release):
    client.force_login(alice)
    response = client.post(url(release, "release_submit"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "block the submit" in html
    assert "Idempotency tested" in html


def test_submit_when_ready_queues_scans_and_polls_the_scan_panel(client, alice, release):
    tick_manual_items(release, alice)
    client.force_login(alice)
    assert client.post(url(release, "release_submit")).status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.IN_REVIEW
    html = client.get(url(release)).content.decode()
    assert 'hx-trigger="every 2s"' in html


def test_scan_panel_stops_polling_when_scans_are_done(client, alice, release):
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    client.force_login(alice)
    release.refresh_from_db()
    poll = reverse("checklists:release_scans", kwargs={"pk": release.pk}) + f"?rev={release.revision}"
    running = client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert 'id="checklist"' not in running  # nothing else changed: the panel alone
    pass_scans_in_review(release)
    done = client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done.split(">", 1)[0]
    assert 'id="checklist" aria-labelledby="checklist-title" hx-swap-oob="true"' in done


def test_rerun_button_forces_a_new_scan_run(client, alice, in_review):
    client.force_login(alice)
    old = set(ScanRun.objects.filter(release=in_review).values_list("pk", flat=True))
    response = htmx(client, url(in_review, "request_scans"), {"scanner": "secrets"})
    assert response.status_code == 200
    new = ScanRun.objects.filter(release=in_review, current=True, scanner="secrets").get()
    assert new.pk not in old and new.status == ScanRun.Status.QUEUED


def test_scan_findings_show_file_and_line(client, alice, release):
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    run = ScanRun.objects.get(release=release, scanner="secrets")
    workflow.claim_scan(run.pk)
    finding = {"file": "config/settings.py", "line": 12, "rule": "AWS key", "excerpt": "AKIA****"}
    workflow.record_scan_result(run.pk, status="failed", findings=[finding])
    client.force_login(alice)
    html = client.get(url(release)).content.decode()
    assert "config/settings.py:12" in html
    assert "AWS key" in html


def test_deploy_and_rollback_from_the_page(client, alice, approved):
    client.force_login(alice)
    page = client.get(url(approved)).content.decode()
    assert "Mark deployed" in page
    assert client.post(url(approved, "release_deploy"), {"version_after": "2.4.0"}).status_code == 302
    approved.refresh_from_db()
    assert approved.status == Release.Status.DEPLOYED
    refused = client.post(url(approved, "release_rollback"), {"reason": ""})
    assert refused.status_code == 400
    assert client.post(url(approved, "release_rollback"), {"reason": "error rate"}).status_code == 302
    approved.refresh_from_db()
    assert (approved.status, approved.rollback_reason) == ("rolled_back", "error rate")


def test_cancel_a_draft(client, alice, release):
    client.force_login(alice)
    assert client.post(url(release, "release_cancel"), {"reason": "superseded"}).status_code == 302
    release.refresh_from_db()
    assert release.status == Release.Status.CANCELLED


# --- the form ----------------------------------------------------------------------------------


def test_creating_a_release_through_the_form(client, alice, team):
    client.force_login(alice)
    assert client.get(reverse("checklists:release_create")).status_code == 200
    data = {
        "team": team.pk,
        "title": "Checkout 3.1",
        "kind": "standard",
        "repository": team.repositories.get().pk,
        "commit": "a" * 40,
        "version_before": "3.0",
        "version_after": "3.1",
        "rollback_plan": "redeploy 3.0",
    }
    response = client.post(reverse("checklists:release_create"), data)
    release = Release.objects.get(title="Checkout 3.1")
    assert response.status_code == 302
    assert response["Location"] == url(release)
    assert release.author == alice
    assert release.items.get(key__contains="rollback").state == ChecklistItem.State.DONE


def test_form_shows_workflow_errors_beside_the_field(client, alice, team):
    client.force_login(alice)
    repository = team.repositories.get().pk
    data = {"team": team.pk, "title": "x", "kind": "standard", "repository": repository, "commit": "main"}
    response = client.post(reverse("checklists:release_create"), data)
    assert response.status_code == 400
    assert "commit" in response.context["form"].errors
    assert not Release.objects.filter(title="x").exists()


@pytest.mark.parametrize(
    "repository", ["ext::sh -c x", "/etc", "https://git.example.com/other.git", "999999"]
)
def test_the_form_offers_only_the_teams_registered_repositories(client, alice, team, repository):
    client.force_login(alice)
    page = client.get(reverse("checklists:release_create")).content.decode()
    assert f'<option value="{team.repositories.get().pk}"' in page
    data = {"team": team.pk, "title": "x", "kind": "standard", "repository": repository, "commit": "a" * 40}
    response = client.post(reverse("checklists:release_create"), data)
    assert response.status_code == 400 and "repository" in response.context["form"].errors
    assert not Release.objects.filter(title="x").exists()


def test_manager_has_no_team_to_open_a_release_in(client, carol, team):
    client.force_login(carol)
    response = client.get(reverse("checklists:release_create"))
    assert "not a member of any team" in response.content.decode()


def test_editing_the_commit_makes_approvals_stale(client, alice, approved):
    client.force_login(alice)
    form = client.get(url(approved, "release_edit")).context["form"]
    data = {**form.initial, "commit": "b" * 40}
    assert client.post(url(approved, "release_edit"), data).status_code == 302
    approved.refresh_from_db()
    assert approved.status == Release.Status.IN_REVIEW
    html = client.get(url(approved)).content.decode()
    assert ">stale<" in html


# --- queries -------------------------------------------------------------------------------------


def test_release_page_runs_a_constant_number_of_queries(
    client, alice, bob, dave, in_review, django_assert_max_num_queries
):
    client.force_login(bob)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url(in_review)).status_code == 200
    events_before = in_review.events.count()
    grow(in_review, [bob, dave], 40)
    assert in_review.events.count() > events_before + 40
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url(in_review))
    assert len(response.context["items"]) > 50
    assert len(response.context["signoffs"]) == 2


def test_htmx_item_update_runs_a_bounded_number_of_queries(
    client, alice, release, django_assert_max_num_queries
):
    client.force_login(alice)
    with django_assert_max_num_queries(40):
        assert htmx(client, item_url(release), {"state": "done"}).status_code == 200
