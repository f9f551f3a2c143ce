"""Approval rules: required reviewer groups (maximum matching), expiry, evidence bound to what it covers,
and what changed since a sign-off."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import workflow
from checklists.errors import TransitionError
from checklists.models import Membership, ReviewerGroup, SignOff
from checklists.policy import approvals
from checklists.policy import gate as gate_rules

from .helpers.api import client_for, release_url
from .helpers.factories import UserFactory, add_member

MANUAL = "correctness.idempotency-tested"


def group(team, name, *members):
    g = ReviewerGroup.objects.create(team=team, name=name)
    g.members.set(members)
    return g


def test_maximum_matching_is_not_greedy():
    # A greedy pass that gives `security` to person 1 first leaves `release-eng` empty.
    assert approvals.maximum_matching({"security": {1, 2}, "release-eng": {1}}) == {
        "release-eng": 1,
        "security": 2,
    }
    assert len(approvals.maximum_matching({"a": {1}, "b": {1}, "c": {2}})) == 2


def test_one_person_fills_one_group_at_most(team, in_review, bob, dave):
    group(team, "security", bob, dave)
    group(team, "release-eng", bob)
    result = workflow.sign_off(in_review, actor=bob, decision="approve")
    assert result.release.status == "in_review"  # bob fills one slot; the other group waits
    assert any("security" in r for r in approvals.shortfall(in_review))
    result = workflow.sign_off(in_review, actor=dave, decision="approve")
    assert result.release.status == "approved"  # dave takes security, bob release-eng


def test_an_approval_outside_the_required_group_does_not_fill_it(team, in_review, bob, dave):
    erin = UserFactory(username="erin")
    add_member(team, erin, Membership.Role.REVIEWER)
    group(team, "security", erin)
    workflow.sign_off(in_review, actor=bob, decision="approve")
    workflow.sign_off(in_review, actor=dave, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    workflow.sign_off(in_review, actor=erin, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def age(signoff, days):
    SignOff.objects.filter(pk=signoff.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_expired_approvals_close_the_gate_and_refuse_deploy_until_renewed(team, approved, alice, bob):
    team.approval_valid_days = 2
    team.save()
    age(approved.signoffs.get(), 3)
    reasons = gate_rules.gate_status(approved, approved.commit).reasons
    assert any("expired" in r for r in reasons)
    with pytest.raises(TransitionError, match="expired"):
        workflow.deploy(approved, actor=alice)
    workflow.sign_off(approved, actor=bob, decision="approve", comment="still good")  # renewal
    assert gate_rules.gate_status(approved, approved.commit).reasons == []
    workflow.deploy(approved, actor=alice)


def test_fresh_approvals_within_the_limit_count(team, approved):
    team.approval_valid_days = 2
    team.save()
    age(approved.signoffs.get(), 1)
    assert gate_rules.gate_status(approved, approved.commit).reasons == []


def test_api_gate_and_signoffs_show_expiry(team, approved, ci_user):
    team.approval_valid_days = 2
    team.save()
    signoff = approved.signoffs.get()
    body = client_for(ci_user).get(release_url(approved)).json()
    assert body["signoffs"][0]["expires_at"].startswith(str((signoff.created_at + timedelta(days=2)).date()))
    age(signoff, 3)
    response = client_for(ci_user).get(release_url(approved, f"gate/?commit={approved.commit}"))
    assert response.status_code == 409 and "expired" in " ".join(response.json()["reasons"])


def test_page_shows_expiry_and_required_groups(client, team, approved, alice, bob):
    team.approval_valid_days = 2
    team.save()
    group(team, "security", bob)
    age(approved.signoffs.get(), 3)
    client.force_login(alice)
    html = client.get(reverse("checklists:release", args=[approved.pk])).content.decode()
    assert 'data-testid="expires"' in html and "expired" in html
    assert 'data-testid="required-groups"' in html and "security" in html
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[approved.pk])).content.decode()
    assert "Your approval expired" in html and 'class="signoff-form"' in html
    response = client.post(
        reverse("checklists:release_signoff", args=[approved.pk]),
        {"decision": "approve", "comment": "renewed"},
    )
    assert response.status_code == 302 and gate_rules.gate_status(approved, approved.commit).reasons == []


# --- evidence bound to what it covers ---------------------------------------------------


def test_scan_evidence_records_its_commit_and_manual_evidence_its_text_and_time(in_review):
    scan_item = in_review.items.get(key="security.no-hardcoded-secrets")
    assert scan_item.evidence_about == {"kind": "commit", "commit": in_review.commit}
    manual = in_review.items.get(key=MANUAL)
    assert manual.evidence_about["kind"] == "text" and manual.evidence_about["text"] == "see CI run 42"
    assert manual.evidence_about["at"]


def test_a_commit_change_reopens_only_commit_bound_items(in_review, alice):
    workflow.update_release(in_review, actor=alice, data={"commit": "a" * 40})
    states = dict(in_review.items.values_list("key", "state"))
    assert states["security.no-hardcoded-secrets"] == "open"
    assert states[MANUAL] == "done"  # text evidence is not about the commit
    assert in_review.items.get(key="security.no-hardcoded-secrets").evidence_commit == ""


def test_stale_approval_shows_what_changed_since(client, approved, alice, bob):
    workflow.update_release(approved, actor=alice, data={"rollback_plan": "Feature flag off."})
    workflow.set_item_state(approved, MANUAL, actor=alice, state="done", evidence="new evidence")
    body = client_for(bob).get(release_url(approved)).json()
    changes = body["signoffs"][0]["changes_since"]
    assert body["signoffs"][0]["stale"] is True
    assert {"what": "field", "name": "rollback_plan"}.items() <= changes[0].items()
    item_change = next(c for c in changes if c["what"] == "item")
    assert item_change["name"] == MANUAL and item_change["changes"]["evidence"]["to"] == "new evidence"
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[approved.pk])).content.decode()
    assert 'data-testid="changes-since"' in html and "2 changes since this sign-off" in html
