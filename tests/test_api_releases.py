"""The release endpoints: list, create, detail, items, submit, sign-offs, scans, deploy, rollback, cancel."""

import pytest

from checklists import workflow
from checklists.models import AuditEvent, Release, ScanRun

from .helpers.api import API, assert_error, client_for, release_url
from .helpers.factories import TeamFactory, UserFactory, add_member, make_release, release_data, sha
from .helpers.release_steps import pass_scans_in_review, tick_manual_items

RELEASE_FIELDS = {
    "id", "team", "title", "kind", "status", "author", "repository", "commit", "version_before",
    "version_after", "description", "rollback_plan", "deployment_steps", "known_limitations",
    "created_at", "updated_at", "submitted_at", "approved_at", "deployed_at", "items", "signoffs", "scans",
}  # fmt: skip
ITEM_FIELDS = {
    "key", "category", "title", "help", "state", "required", "waivable", "satisfied_by", "evidence",
    "reason", "set_by", "set_at", "scan",
}  # fmt: skip


def create_body(**overrides):
    return {"team": "payments", **release_data(**overrides)}


# --- create --------------------------------------------------------------------


def test_member_creates_a_draft_with_the_default_checklist(team, alice):
    response = client_for(alice).post(f"{API}/releases/", create_body(title="Refunds v2"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= RELEASE_FIELDS
    assert (body["team"], body["author"], body["status"], body["title"]) == (
        "payments",
        "alice",
        "draft",
        "Refunds v2",
    )
    assert len(body["items"]) == 19
    assert set(body["items"][0]) >= ITEM_FIELDS
    assert Release.objects.get(pk=body["id"]).author == alice


def test_create_with_a_branch_name_as_commit_is_a_400_naming_the_field(team, alice):
    response = client_for(alice).post(f"{API}/releases/", create_body(commit="main"), format="json")
    error = assert_error(response, 400, "invalid")
    assert "commit" in error["details"]
    assert not Release.objects.exists()


def test_create_refuses_a_repository_that_runs_commands(team, alice):
    response = client_for(alice).post(
        f"{API}/releases/", create_body(repository="ext::sh -c touch% /tmp/pwned"), format="json"
    )
    assert "repository" in assert_error(response, 400, "unknown_repository")["details"]


def test_create_in_an_unknown_team_is_a_400(team, alice):
    response = client_for(alice).post(f"{API}/releases/", create_body(team="nope"), format="json")
    assert "team" in assert_error(response, 400)["details"]


def test_create_with_a_json_list_body_is_a_400(team, alice):
    response = client_for(alice).post(f"{API}/releases/", [1, 2], format="json")
    assert_error(response, 400, "invalid")


def test_create_with_malformed_json_is_a_400_parse_error(team, alice):
    response = client_for(alice).post(f"{API}/releases/", b'{"team": ', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_create_as_form_data_is_a_415(team, alice):
    response = client_for(alice).post(f"{API}/releases/", {"team": "payments"})  # multipart
    assert_error(response, 415, "unsupported_media_type")


# --- list ----------------------------------------------------------------------


def test_list_filters_by_team_status_kind_and_author(team, alice, dave, release, hotfix):
    other = TeamFactory(slug="search", owner=dave)
    add_member(other, alice)
    make_release(other, alice, title="Search 1.0")
    client = client_for(alice)

    def ids(query):
        response = client.get(f"{API}/releases/?{query}")
        assert response.status_code == 200, response.content
        return sorted(r["id"] for r in response.json()["results"])

    assert len(ids("")) == 3
    assert ids("team=payments") == sorted([release.pk, hotfix.pk])
    assert ids("kind=hotfix") == [hotfix.pk]
    assert ids("status=draft&team=payments&author=alice") == sorted([release.pk, hotfix.pk])
    assert ids("status=approved") == []
    assert ids("author=bob") == []


def test_list_filters_by_creation_time(team, alice, release):
    client = client_for(alice)
    assert client.get(f"{API}/releases/?since=2000-01-01T00:00:00Z").json()["count"] == 1
    assert client.get(f"{API}/releases/?until=2000-01-01T00:00:00Z").json()["count"] == 0


def test_list_with_a_bad_filter_value_is_a_400(team, alice):
    assert_error(client_for(alice).get(f"{API}/releases/?status=shipped"), 400, "invalid")
    assert_error(client_for(alice).get(f"{API}/releases/?since=yesterday"), 400, "invalid")


def test_list_is_paginated_newest_first(team, alice):
    made = [make_release(team, alice, title=f"r{n}") for n in range(3)]
    response = client_for(alice).get(f"{API}/releases/?page_size=2")
    body = response.json()
    assert body["count"] == 3 and body["next"] and body["previous"] is None
    assert [r["id"] for r in body["results"]] == [made[2].pk, made[1].pk]
    assert "items" not in body["results"][0]  # the list stays small; the detail has the checklist


def test_a_page_past_the_end_is_a_404_in_the_error_format(team, alice, release):
    assert_error(client_for(alice).get(f"{API}/releases/?page=9"), 404, "not_found")


# --- detail and items ------------------------------------------------------------


def test_detail_shows_items_signoffs_and_scans(approved, alice):
    body = client_for(alice).get(release_url(approved)).json()
    assert body["status"] == "approved"
    assert body["signoffs"][0]["reviewer"] == "bob"
    assert {"reviewer", "decision", "comment", "commit", "stale", "created_at"} <= set(body["signoffs"][0])
    scan = body["scans"][0]
    assert {"id", "scanner", "commit", "status", "findings", "error", "queued_at", "finished_at"} <= set(scan)
    scanned = [i for i in body["items"] if i["satisfied_by"].startswith("scan:")]
    assert all(i["state"] == "done" and isinstance(i["scan"], int) for i in scanned)


def test_patch_ticks_a_manual_item_with_evidence(release, alice):
    key = release.items.filter(satisfied_by="manual").first().key
    response = client_for(alice).patch(
        release_url(release, f"items/{key}/"), {"state": "done", "evidence": "CI run 7"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["set_by"]) == ("done", "alice")
    assert release.items.get(key=key).evidence == "CI run 7"


def test_patch_without_state_changes_only_the_evidence(release, alice):
    key = release.items.filter(satisfied_by="manual").first().key
    response = client_for(alice).patch(
        release_url(release, f"items/{key}/"), {"evidence": "a note"}, format="json"
    )
    assert response.status_code == 200
    assert release.items.get(key=key).state == "open"
    assert release.items.get(key=key).evidence == "a note"


@pytest.mark.parametrize("body", [{"state": "done"}, {"evidence": "x"}])
def test_patch_of_an_unknown_item_is_a_404_unknown_item(release, alice, body):
    response = client_for(alice).patch(release_url(release, "items/no.such-item/"), body, format="json")
    assert_error(response, 404, "unknown_item")


def test_ticking_a_scan_item_by_hand_is_a_400(release, alice):
    key = release.items.filter(satisfied_by__startswith="scan:").first().key
    response = client_for(alice).patch(
        release_url(release, f"items/{key}/"), {"state": "done"}, format="json"
    )
    assert_error(response, 400)
    assert release.items.get(key=key).state == "open"


def test_an_unknown_state_is_a_400(release, alice):
    key = release.items.first().key
    response = client_for(alice).patch(release_url(release, f"items/{key}/"), {"state": "ok"}, format="json")
    assert "state" in assert_error(response, 400, "invalid")["details"]


# --- transitions -----------------------------------------------------------------


def test_submit_with_open_items_is_a_409_listing_them(release, alice):
    error = assert_error(client_for(alice).post(release_url(release, "submit/")), 409, "blocked")
    assert error["details"] and {"key", "title", "why"} <= set(error["details"][0])
    release.refresh_from_db()
    assert release.status == "draft"


def test_submit_moves_a_ready_draft_to_review_and_queues_scans(release, alice):
    tick_manual_items(release, alice)
    response = client_for(alice).post(release_url(release, "submit/"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_review"
    assert {s["status"] for s in response.json()["scans"]} == {"queued"}


def test_reviewer_approves_a_release_in_review(in_review, bob):
    response = client_for(bob).post(
        release_url(in_review, "signoffs/"), {"decision": "approve", "comment": "ok"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["signoff"]["reviewer"] == "bob" and body["signoff"]["decision"] == "approve"
    assert body["release"]["status"] == "approved"


def test_author_signing_off_is_a_403_self_review(in_review, alice):
    response = client_for(alice).post(
        release_url(in_review, "signoffs/"), {"decision": "approve"}, format="json"
    )
    assert_error(response, 403, "self_review")
    assert not in_review.signoffs.exists()


def test_member_without_the_reviewer_role_is_a_403_not_a_reviewer(in_review, ci_user):
    response = client_for(ci_user).post(
        release_url(in_review, "signoffs/"), {"decision": "approve"}, format="json"
    )
    assert_error(response, 403, "not_a_reviewer")


def test_signing_off_a_draft_is_a_409(release, bob):
    response = client_for(bob).post(release_url(release, "signoffs/"), {"decision": "approve"}, format="json")
    assert_error(response, 409, "invalid_transition")


def test_a_rejection_without_comment_is_a_400(in_review, bob):
    response = client_for(bob).post(
        release_url(in_review, "signoffs/"), {"decision": "reject"}, format="json"
    )
    assert "comment" in assert_error(response, 400)["details"]


def test_scans_are_queued_with_a_202(release, alice):
    response = client_for(alice).post(
        release_url(release, "scans/"), {"scanners": ["secrets"]}, format="json"
    )
    assert response.status_code == 202, response.content
    assert [(s["scanner"], s["status"]) for s in response.json()["scans"]] == [("secrets", "queued")]


def test_an_unknown_scanner_is_a_400(release, alice):
    response = client_for(alice).post(release_url(release, "scans/"), {"scanners": ["rm -rf"]}, format="json")
    assert "scanners" in assert_error(response, 400)["details"]


def test_forcing_a_rerun_replaces_the_finished_scan(release, alice):
    client = client_for(alice)
    first = client.post(release_url(release, "scans/"), {"scanners": ["secrets"]}, format="json").json()
    run_id = first["scans"][0]["id"]
    workflow.claim_scan(run_id)
    workflow.record_scan_result(run_id, status="passed")
    again = client.post(release_url(release, "scans/"), {"scanners": ["secrets"]}, format="json").json()
    assert again["scans"][0]["id"] == run_id  # unforced: already ran on this commit
    forced = client.post(
        release_url(release, "scans/"), {"scanners": ["secrets"], "force": True}, format="json"
    ).json()
    assert forced["scans"][0]["id"] != run_id
    assert not ScanRun.objects.get(pk=run_id).current


def test_deploy_then_rollback_with_a_reason(approved, alice):
    client = client_for(alice)
    response = client.post(release_url(approved, "deploy/"), {"commit": approved.commit}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "deployed"
    assert_error(client.post(release_url(approved, "rollback/"), {}, format="json"), 400, "invalid")
    response = client.post(release_url(approved, "rollback/"), {"reason": "5xx spike"}, format="json")
    assert response.json()["status"] == "rolled_back"
    assert response.json()["rollback_reason"] == "5xx spike"


def test_deploying_another_commit_is_a_409(approved, alice):
    response = client_for(alice).post(release_url(approved, "deploy/"), {"commit": sha()}, format="json")
    assert_error(response, 409)


def test_deploying_a_draft_is_a_409(release, alice):
    assert_error(client_for(alice).post(release_url(release, "deploy/")), 409, "invalid_transition")


def test_cancel_a_draft(release, alice):
    response = client_for(alice).post(
        release_url(release, "cancel/"), {"reason": "superseded"}, format="json"
    )
    assert response.json()["status"] == "cancelled"
    assert_error(client_for(alice).post(release_url(release, "cancel/")), 409)


def test_every_change_through_the_api_writes_one_audit_event(release, alice):
    before = AuditEvent.objects.filter(release=release).count()
    key = release.items.filter(satisfied_by="manual").first().key
    client_for(alice).patch(release_url(release, f"items/{key}/"), {"state": "done"}, format="json")
    assert AuditEvent.objects.filter(release=release).count() == before + 1


def test_a_second_team_member_sees_the_same_release(release, team):
    colleague = UserFactory(username="erin")
    add_member(team, colleague)
    assert client_for(colleague).get(release_url(release)).status_code == 200


def test_approvals_go_stale_and_the_release_returns_to_review_after_a_change(approved, alice):
    pass_scans_in_review(approved)
    key = approved.items.filter(satisfied_by="manual").first().key
    client_for(alice).patch(release_url(approved, f"items/{key}/"), {"evidence": "updated"}, format="json")
    body = client_for(alice).get(release_url(approved)).json()
    assert body["status"] == "in_review"
    assert all(s["stale"] for s in body["signoffs"])
