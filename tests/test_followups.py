"""Waiver debt: items waived on a hotfix become follow-ups that block the team's next standard release."""

from datetime import date

import pytest
from django.urls import reverse

from checklists import workflow
from checklists.errors import BlockedError, InvalidInput, NotAllowed, TransitionError
from checklists.models import AuditEvent, FollowUp
from checklists.policy import followups

from .helpers.api import API, assert_error, client_for, release_url
from .helpers.factories import make_release
from .helpers.release_steps import pass_scans_in_review, ready_for_review, tick_manual_items

WAIVED = "handoff.oncall-briefed"


def waive_and_submit(hotfix, alice, key=WAIVED):
    tick_manual_items(hotfix, alice)
    workflow.set_item_state(hotfix, key, actor=alice, state="waived", reason="incident: paged team knows")
    workflow.submit(hotfix, actor=alice)
    pass_scans_in_review(hotfix)
    hotfix.refresh_from_db()
    return hotfix


def test_working_days_skip_weekends():
    assert followups.add_working_days(date(2026, 11, 27), 5) == date(2026, 12, 4)  # Friday -> next Friday
    assert followups.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)  # Monday -> next Monday


def test_submitting_a_hotfix_opens_one_follow_up_per_waived_item(hotfix, alice, bob):
    workflow.set_item_state(hotfix, WAIVED, actor=alice, state="waived", reason="incident")
    assert not FollowUp.objects.exists()  # a waiver on a draft is not debt yet
    waive_and_submit(hotfix, alice)
    followup = FollowUp.objects.get()
    assert (followup.item_key, followup.owner, followup.team_id) == (WAIVED, bob, hotfix.team_id)
    assert followup.due_date == followups.add_working_days(followup.created_at.date(), 5)
    assert AuditEvent.objects.filter(verb="release.submitted", payload__followups_opened=[WAIVED]).exists()


def test_open_follow_up_blocks_the_next_standard_release_and_names_it(team, hotfix, alice):
    waive_and_submit(hotfix, alice)
    standard = make_release(team, alice)
    tick_manual_items(standard, alice)
    with pytest.raises(BlockedError) as refused:
        workflow.submit(standard, actor=alice)
    assert refused.value.code == "open_followups"
    assert FollowUp.objects.get().item_title in refused.value.message
    assert [row["key"] for row in refused.value.details] == [WAIVED]
    # another hotfix is not blocked: incidents do not wait for debt
    other = make_release(team, alice, kind="hotfix")
    ready_for_review(other, alice)


def test_closing_needs_evidence_and_a_team_member_and_is_audited(team, hotfix, alice, dave, mallory):
    waive_and_submit(hotfix, alice)
    followup = FollowUp.objects.get()
    with pytest.raises(InvalidInput):
        workflow.close_followup(followup, actor=alice, evidence="   ")
    with pytest.raises(NotAllowed):
        workflow.close_followup(followup, actor=mallory, evidence="done")
    workflow.close_followup(followup, actor=dave, evidence="https://wiki/oncall-brief-2026-11")
    followup.refresh_from_db()
    assert followup.closed_by == dave and followup.closed_at
    event = AuditEvent.objects.get(verb="followup.closed")
    assert event.actor == dave and event.payload["key"] == WAIVED
    with pytest.raises(TransitionError):
        workflow.close_followup(followup, actor=dave, evidence="again")
    standard = make_release(team, alice)
    ready_for_review(standard, alice)  # no debt left: submit passes
    assert standard.status == "in_review"


def test_a_cancelled_hotfix_leaves_no_debt(team, hotfix, alice):
    waive_and_submit(hotfix, alice)
    workflow.cancel(hotfix, actor=alice, reason="superseded")
    assert not followups.open_for_team(team).exists()


def test_waiving_after_submit_opens_the_follow_up_at_once(hotfix, alice):
    ready_for_review(hotfix, alice)
    workflow.set_item_state(
        hotfix, "handoff.documentation-updated", actor=alice, state="waived", reason="later"
    )
    assert list(FollowUp.objects.values_list("item_key", flat=True)) == ["handoff.documentation-updated"]


def test_api_lists_and_closes_follow_ups(team, hotfix, alice, mallory):
    waive_and_submit(hotfix, alice)
    followup = FollowUp.objects.get()
    body = client_for(alice).get(f"{API}/followups/?team=payments").json()
    assert [row["item_key"] for row in body["results"]] == [WAIVED] and body["results"][0]["open"]
    assert client_for(mallory).get(f"{API}/followups/").json()["results"] == []
    assert_error(
        client_for(mallory).post(f"{API}/followups/{followup.pk}/close/", {"evidence": "x"}, format="json"),
        404,
    )
    assert_error(
        client_for(alice).post(f"{API}/followups/{followup.pk}/close/", {"evidence": ""}, format="json"), 400
    )
    closed = client_for(alice).post(
        f"{API}/followups/{followup.pk}/close/", {"evidence": "done: PR 12"}, format="json"
    )
    assert closed.status_code == 200 and closed.json()["closed_by"] == "alice"
    assert (
        client_for(alice).get(f"{API}/followups/?state=closed").json()["results"][0]["evidence"]
        == "done: PR 12"
    )
    assert client_for(alice).get(release_url(hotfix)).json()["followups"][0]["open"] is False


def test_api_submit_of_a_standard_release_answers_409_naming_the_follow_ups(team, hotfix, alice):
    waive_and_submit(hotfix, alice)
    standard = make_release(team, alice)
    tick_manual_items(standard, alice)
    error = assert_error(client_for(alice).post(release_url(standard, "submit/")), 409, "open_followups")
    assert error["details"][0]["key"] == WAIVED and error["details"][0]["owner"] == "bob"


def test_dashboard_lists_open_follow_ups_and_closes_one(client, team, hotfix, alice, carol):
    waive_and_submit(hotfix, alice)
    followup = FollowUp.objects.get()
    client.force_login(alice)
    html = client.get(reverse("checklists:dashboard")).content.decode()
    assert 'data-testid="followups"' in html and followup.item_title in html
    page = client.get(reverse("checklists:release", args=[hotfix.pk])).content.decode()
    assert 'data-testid="release-followups"' in page
    response = client.post(reverse("checklists:followup_close", args=[followup.pk]), {"evidence": "briefed"})
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.closed_by == alice
    assert 'data-testid="followups"' not in client.get(reverse("checklists:dashboard")).content.decode()


def test_metrics_show_waiver_debt(client, hotfix, alice, carol):
    waive_and_submit(hotfix, alice)
    client.force_login(carol)
    html = client.get(reverse("checklists:metrics")).content.decode()
    assert 'data-testid="waiver-debt"' in html
    assert FollowUp.objects.get().item_title in html


def test_admin_closes_a_follow_up_through_the_workflow(client, hotfix, alice, bob):
    waive_and_submit(hotfix, alice)
    followup = FollowUp.objects.get()
    bob.is_staff = bob.is_superuser = True
    bob.save()
    client.force_login(bob)
    change = reverse("admin:checklists_followup_change", args=[followup.pk])
    response = client.post(change, {"evidence": ""}, follow=True)
    assert "Closing a follow-up needs evidence" in response.content.decode()
    followup.refresh_from_db()
    assert followup.closed_at is None
    client.post(change, {"evidence": "runbook updated"}, follow=True)
    followup.refresh_from_db()
    assert followup.closed_by == bob and AuditEvent.objects.filter(verb="followup.closed", actor=bob).exists()
