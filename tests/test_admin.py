"""The admin goes through the workflow: same rules, no editing status by hand."""

import pytest
from django.urls import reverse

from checklists.models import AuditEvent, Release, SignOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_alice(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    return alice


@pytest.fixture
def staff_bob(bob):
    bob.is_staff = bob.is_superuser = True
    bob.save()
    return bob


def run_action(client, action, release):
    return client.post(
        reverse("admin:checklists_release_changelist"),
        {"action": action, "_selected_action": [release.pk]},
        follow=True,
    )


def test_author_cannot_approve_own_release_through_an_admin_action(client, staff_alice, in_review):
    client.force_login(staff_alice)
    response = run_action(client, "approve", in_review)
    assert "You are the author of this release" in response.content.decode()
    assert not SignOff.objects.exists()
    in_review.refresh_from_db()
    assert in_review.status == "in_review"


def test_author_cannot_add_a_self_review_through_the_signoff_form(client, staff_alice, in_review):
    client.force_login(staff_alice)
    response = client.post(
        reverse("admin:checklists_signoff_add"),
        {"release": in_review.pk, "decision": "approve", "comment": "mine"},
        follow=True,
    )
    assert response.status_code == 200
    assert "You are the author of this release" in response.content.decode()
    assert not SignOff.objects.exists()


def test_reviewer_approves_through_the_signoff_form(client, staff_bob, in_review):
    client.force_login(staff_bob)
    response = client.post(
        reverse("admin:checklists_signoff_add"),
        {"release": in_review.pk, "decision": "approve", "comment": "checked"},
        follow=True,
    )
    assert response.status_code == 200
    signoff = SignOff.objects.get()
    assert (signoff.reviewer, signoff.decision) == (staff_bob, "approve")
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    assert AuditEvent.objects.filter(release=in_review, verb="signoff.approve").count() == 1


def test_reviewer_approves_through_an_admin_action(client, staff_bob, in_review):
    client.force_login(staff_bob)
    run_action(client, "approve", in_review)
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def test_status_cannot_be_edited_by_hand(client, staff_alice, release):
    client.force_login(staff_alice)
    url = reverse("admin:checklists_release_change", args=[release.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    client.post(url, {"status": "approved", "title": "changed"})
    release.refresh_from_db()
    assert (release.status, release.title) == ("draft", "Payments API 2.4")


def test_an_item_changed_in_the_admin_obeys_the_rules(client, staff_alice, release):
    client.force_login(staff_alice)
    item = release.items.get(key="security.no-mock-flag")
    url = reverse("admin:checklists_checklistitem_change", args=[item.pk])
    response = client.post(url, {"state": "done", "evidence": "trust me", "reason": ""}, follow=True)
    assert "ticked by its scan" in response.content.decode()
    item.refresh_from_db()
    assert item.state == "open"


def test_an_item_ticked_in_the_admin_is_audited(client, staff_alice, release):
    client.force_login(staff_alice)
    item = release.items.get(key="correctness.idempotency-tested")
    url = reverse("admin:checklists_checklistitem_change", args=[item.pk])
    client.post(url, {"state": "done", "evidence": "tests/test_idem.py", "reason": ""}, follow=True)
    item.refresh_from_db()
    assert (item.state, item.set_by) == ("done", staff_alice)
    assert AuditEvent.objects.filter(release=release, verb="item.updated").count() == 1


def test_audit_events_are_read_only_in_the_admin(client, staff_alice, release):
    client.force_login(staff_alice)
    event = AuditEvent.objects.get(release=release)
    assert client.get(reverse("admin:checklists_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:checklists_auditevent_delete", args=[event.pk])).status_code == 403
    client.post(reverse("admin:checklists_auditevent_change", args=[event.pk]), {"verb": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).verb == "release.created"


def test_admin_pages_render_for_every_model(client, staff_alice, approved):
    client.force_login(staff_alice)
    for model in (
        "team",
        "checklisttemplate",
        "release",
        "checklistitem",
        "signoff",
        "scanrun",
        "auditevent",
    ):
        assert client.get(reverse(f"admin:checklists_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:checklists_release_change", args=[approved.pk])).status_code == 200


def test_admin_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:checklists_release_changelist"))
    assert response.status_code == 302
    assert Release.objects.count() == 0
