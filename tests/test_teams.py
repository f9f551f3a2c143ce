"""Running a team from releasegate itself: the owner role, every team setting through the workflow
(one audit event with before and after), and the team pages (owners change, members read)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import workflow
from checklists.errors import InvalidInput, NotAllowed, NotFound, TransitionError
from checklists.models import AuditEvent, FreezeWindow, Membership, ReviewerGroup, Team, Webhook
from checklists.policy import teams as team_policy

from .helpers.factories import UserFactory, add_member


def team_events(verb_prefix="team."):
    return list(AuditEvent.objects.filter(verb__startswith=verb_prefix).order_by("id"))


# --- who manages a team --------------------------------------------------------------------


def test_owners_and_staff_manage_a_team_and_nobody_else(team, alice, bob, carol, mallory):
    staff = UserFactory(username="ops", is_staff=True)
    assert team_policy.may_manage(bob, team) and team_policy.may_manage(staff, team)
    for person in (alice, carol, mallory):
        assert isinstance(team_policy.manage_refusal(person, team), NotAllowed)
        with pytest.raises(NotAllowed):
            workflow.update_team_settings(team, actor=person, changes={"required_approvals": 2})
    assert team_events() == []


def test_the_owner_role_is_held_beside_the_release_role(team, bob):
    membership = Membership.objects.get(team=team, user=bob)
    assert (membership.role, membership.owner) == ("reviewer", True)
    assert team.owner == bob


# --- settings --------------------------------------------------------------------------------


def test_a_settings_change_writes_one_event_with_before_and_after(team, bob):
    workflow.update_team_settings(
        team,
        actor=bob,
        changes={"required_approvals": 2, "approval_valid_days": 7, "allow_commit_authors_to_review": False},
    )
    (event,) = team_events()
    assert event.verb == "team.settings_changed" and event.actor == bob and event.release is None
    assert event.payload["before"] == {"required_approvals": 1, "approval_valid_days": None}
    assert event.payload["after"] == {"required_approvals": 2, "approval_valid_days": 7}
    team.refresh_from_db()
    assert (team.required_approvals, team.approval_valid_days) == (2, 7)
    workflow.update_team_settings(team, actor=bob, changes={"required_approvals": 2})
    assert len(team_events()) == 1  # nothing changed, nothing written


def test_only_staff_let_commit_authors_approve_an_owner_who_reviews_may_not(team, bob, in_review):
    """bob owns the team and reviews for it: he may not switch off the check on his own commits."""
    with pytest.raises(NotAllowed) as refused:
        workflow.update_team_settings(team, actor=bob, changes={"allow_commit_authors_to_review": True})
    assert refused.value.code == "staff_only_setting"
    team.refresh_from_db()
    assert team.allow_commit_authors_to_review is False and team_events() == []
    staff = UserFactory(username="ops", is_staff=True)
    workflow.update_team_settings(team, actor=staff, changes={"allow_commit_authors_to_review": True})
    workflow.update_team_settings(team, actor=bob, changes={"allow_commit_authors_to_review": False})
    team.refresh_from_db()
    assert team.allow_commit_authors_to_review is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"required_approvals": 0}, "required_approvals"),
        ({"required_approvals": "two"}, "required_approvals"),
        ({"approval_valid_days": -1}, "approval_valid_days"),
        ({"probe_endpoints": ["http://169.254.169.254/latest/meta-data/"]}, "probe_endpoints"),
        ({"probe_endpoints": ["ftp://svc.example.com/"]}, "probe_endpoints"),
        ({"probe_endpoints": ["https://user:pw@svc.example.com/"]}, "probe_endpoints"),
        ({"probe_endpoints": ["http://metadata.google.internal/"]}, "probe_endpoints"),
        ({"probe_public_allowlist": ["healthz"]}, "probe_public_allowlist"),
        ({"notify_email": "not an address"}, "notify_email"),
        ({"notify_events": ["everything"]}, "notify_events"),
        ({"owner": "mallory"}, "owner"),
    ],
)
def test_invalid_settings_are_refused_with_the_field_and_change_nothing(team, bob, changes, field):
    with pytest.raises(InvalidInput) as refused:
        workflow.update_team_settings(team, actor=bob, changes={**changes, "followup_due_working_days": 9})
    assert field in refused.value.details
    team.refresh_from_db()
    assert team.followup_due_working_days == 5 and team_events() == []


def test_probe_endpoints_may_be_the_teams_own_internal_services(team, bob):
    urls = ["http://127.0.0.1:8000/api/", "https://payments.svc.cluster.local/admin", "http://10.0.0.7/x"]
    workflow.update_team_settings(
        team, actor=bob, changes={"probe_endpoints": urls, "probe_public_allowlist": ["/healthz"]}
    )
    team.refresh_from_db()
    assert team.probe_endpoints == urls and team.probe_public_allowlist == ["/healthz"]


# --- people ------------------------------------------------------------------------------------


def test_people_are_added_by_user_name_or_email_and_changes_are_audited(team, bob, mallory):
    erin = UserFactory(username="erin", email="Erin@Corp.example.com")
    workflow.add_member(team, actor=bob, user="erin@corp.example.com", role="reviewer")
    workflow.change_member(team, actor=bob, user="erin", owner=True)
    added, changed = team_events()
    assert added.payload["before"] is None and added.payload["after"]["role"] == "reviewer"
    assert changed.payload["before"]["owner"] is False and changed.payload["after"]["owner"] is True
    assert Membership.objects.get(team=team, user=erin).owner
    with pytest.raises(InvalidInput) as unknown:
        workflow.add_member(team, actor=bob, user="nobody-here")
    assert unknown.value.code == "unknown_user"
    with pytest.raises(InvalidInput) as twice:
        workflow.add_member(team, actor=bob, user="erin")
    assert twice.value.code == "already_member"
    with pytest.raises(InvalidInput):
        workflow.add_member(team, actor=bob, user=mallory, role="admin")


def test_the_last_owner_stays_and_the_named_owner_moves_to_another_owner(team, bob, dave):
    with pytest.raises(TransitionError) as last:
        workflow.change_member(team, actor=bob, user=bob, owner=False)
    assert last.value.code == "last_owner"
    with pytest.raises(TransitionError):
        workflow.remove_member(team, actor=bob, user=bob)
    workflow.change_member(team, actor=bob, user=dave, owner=True)
    workflow.remove_member(team, actor=bob, user=bob)
    team.refresh_from_db()
    assert team.owner == dave and not Membership.objects.filter(team=team, user=bob).exists()
    removed = team_events()[-1]
    assert removed.verb == "team.member_removed" and removed.payload["queue_owner"] == "dave"
    assert removed.payload["before"] == {"role": "reviewer", "owner": True, "source": "local"}


def test_the_named_owner_is_chosen_among_the_owners(team, bob, alice, dave):
    with pytest.raises(InvalidInput):
        workflow.set_queue_owner(team, actor=bob, user=alice)
    workflow.change_member(team, actor=bob, user=dave, owner=True)
    workflow.set_queue_owner(team, actor=bob, user=dave)
    team.refresh_from_db()
    assert team.owner == dave
    assert team_events()[-1].payload == {"team": "payments", "before": "bob", "after": "dave"}


# --- reviewer groups and the warnings ---------------------------------------------------------


def test_settings_that_make_approval_impossible_are_warned_about(team, bob, alice, dave):
    assert team_policy.approval_warnings(team) == []  # two reviewers, one approval
    team = workflow.update_team_settings(team, actor=bob, changes={"required_approvals": 3})
    assert [w.code for w in team_policy.approval_warnings(team)] == ["too_few_reviewers"]
    team = workflow.update_team_settings(team, actor=bob, changes={"required_approvals": 2})
    assert [w.code for w in team_policy.approval_warnings(team)] == ["author_reviewer_blocked"]
    team = workflow.update_team_settings(team, actor=bob, changes={"required_approvals": 1})
    workflow.save_reviewer_group(team, actor=bob, name="security", members=[alice])  # alice is no reviewer
    assert [w.code for w in team_policy.approval_warnings(team)] == ["group_without_reviewer"]
    group = ReviewerGroup.objects.get(name="security")
    workflow.save_reviewer_group(team, actor=bob, name="security", members=[dave], group=group)
    workflow.save_reviewer_group(team, actor=bob, name="release-eng", members=[dave])
    assert [w.code for w in team_policy.approval_warnings(team)] == ["groups_need_more_people"]
    workflow.save_reviewer_group(
        team,
        actor=bob,
        name="release-eng",
        members=[bob, dave],
        group=ReviewerGroup.objects.get(name="release-eng"),
    )
    assert team_policy.approval_warnings(team) == []


def test_a_reviewer_group_holds_only_people_of_the_team_and_is_audited(team, bob, dave, mallory):
    with pytest.raises(InvalidInput) as refused:
        workflow.save_reviewer_group(team, actor=bob, name="security", members=[mallory])
    assert "members" in refused.value.details and not ReviewerGroup.objects.exists()
    group = workflow.save_reviewer_group(team, actor=bob, name="Security", members=["dave"])
    assert group.name == "security"
    workflow.delete_reviewer_group(team, actor=bob, group=group)
    created, deleted = team_events()
    assert created.payload["after"] == {"name": "security", "required": True, "members": ["dave"]}
    assert deleted.payload["before"]["members"] == ["dave"] and deleted.payload["after"] is None


# --- freezes and webhooks -----------------------------------------------------------------------


def test_a_freeze_is_planned_ended_and_audited(team, bob):
    now = timezone.now()
    with pytest.raises(InvalidInput):
        workflow.add_freeze_window(
            team, actor=bob, starts_at=now, ends_at=now - timedelta(hours=1), reason="x"
        )
    with pytest.raises(InvalidInput):
        workflow.add_freeze_window(
            team, actor=bob, starts_at=now, ends_at=now + timedelta(hours=1), reason=" "
        )
    running = workflow.add_freeze_window(
        team,
        actor=bob,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=5),
        reason="Black Friday",
    )
    planned = workflow.add_freeze_window(
        team, actor=bob, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2), reason="Audit"
    )
    workflow.end_freeze_window(team, actor=bob, window=running)
    workflow.end_freeze_window(team, actor=bob, window=planned)
    running.refresh_from_db()
    assert running.ends_at <= timezone.now() and not FreezeWindow.objects.filter(pk=planned.pk).exists()
    verbs = [e.verb for e in team_events()]
    assert verbs == ["team.freeze_added", "team.freeze_added", "team.freeze_ended", "team.freeze_ended"]
    with pytest.raises(NotFound):
        workflow.end_freeze_window(team, actor=bob, window=planned.pk)


def test_webhooks_are_paused_and_resumed_by_owners(team, bob, alice):
    hook = workflow.create_webhook(team, actor=bob, url="https://hooks.example.com/rg").webhook
    with pytest.raises(NotAllowed):
        workflow.update_webhook(team, actor=alice, webhook=hook, active=False)
    workflow.update_webhook(team, actor=bob, webhook=hook, active=False)
    hook.refresh_from_db()
    assert not hook.active
    event = team_events()[-1]
    assert event.payload["before"]["active"] is True and event.payload["after"]["active"] is False
    assert hook.secret not in str(event.payload)


# --- opening a team -------------------------------------------------------------------------------


def test_anyone_signed_in_opens_a_team_and_becomes_its_owner_unless_staff_only(settings, mallory, team):
    opened = workflow.create_team(actor=mallory, name="Identity", slug="identity")
    membership = Membership.objects.get(team=opened, user=mallory)
    assert (membership.role, membership.owner, opened.owner) == ("reviewer", True, mallory)
    assert AuditEvent.objects.get(verb="team.created").payload["after"]["slug"] == "identity"
    with pytest.raises(InvalidInput) as taken:
        workflow.create_team(actor=mallory, name="Payments", slug="payments")
    assert set(taken.value.details) == {"name", "slug"}
    settings.RELEASEGATE_TEAM_CREATION = "staff"
    with pytest.raises(NotAllowed):
        workflow.create_team(actor=mallory, name="Search", slug="search")


# --- the pages --------------------------------------------------------------------------------------


def page_of(client, user, team):
    client.force_login(user)
    return client.get(reverse("checklists:team", args=[team.slug]))


def test_members_and_managers_read_the_team_page_and_only_owners_get_forms(
    client, team, alice, bob, carol, mallory
):
    owner_page = page_of(client, bob, team).content.decode()
    assert 'action="/teams/payments/settings/approvals/"' in owner_page and "Add to the team" in owner_page
    for reader in (alice, carol):
        page = page_of(client, reader, team)
        assert page.status_code == 200
        text = page.content.decode()
        assert "Read-only" in text and "<form" not in text.split('id="people"', 1)[1].split("Sign out")[0]
        assert "bob" in text and team.repositories.get().location in text
    assert page_of(client, mallory, team).status_code == 404


def test_a_member_posting_a_setting_is_refused_with_403_and_nothing_changes(client, team, alice):
    client.force_login(alice)
    answer = client.post(
        reverse("checklists:team_settings", args=[team.slug, "approvals"]),
        {"required_approvals": 5, "followup_due_working_days": 5},
    )
    assert answer.status_code == 403
    team.refresh_from_db()
    assert team.required_approvals == 1


def test_the_owner_saves_rules_on_the_page_and_sees_a_warning_when_they_block_approval(client, team, bob):
    client.force_login(bob)
    url = reverse("checklists:team_settings", args=[team.slug, "approvals"])
    bad = client.post(url, {"required_approvals": 0, "followup_due_working_days": 5})
    assert (
        bad.status_code == 400 and "Ensure this value is greater than or equal to 1" in bad.content.decode()
    )
    done = client.post(url, {"required_approvals": 3, "followup_due_working_days": 5}, follow=True)
    text = done.content.decode()
    assert 'data-code="too_few_reviewers"' in text and "Approval rules saved." in text


def test_the_owner_adds_people_and_groups_on_the_page(client, team, bob, alice):
    UserFactory(username="erin")
    client.force_login(bob)
    added = client.post(
        reverse("checklists:team_member_add", args=[team.slug]),
        {"user": "erin", "role": "reviewer", "owner": "on"},
    )
    assert added.status_code == 302 and Membership.objects.get(user__username="erin").owner
    unknown = client.post(
        reverse("checklists:team_member_add", args=[team.slug]), {"user": "zed", "role": "member"}
    )
    assert unknown.status_code == 400 and "No single active account" in unknown.content.decode()
    erin_id = Membership.objects.get(user__username="erin").user_id
    client.post(reverse("checklists:team_member", args=[team.slug, erin_id]), {f"m{erin_id}-role": "member"})
    assert Membership.objects.get(user_id=erin_id).role == "member"
    grouped = client.post(
        reverse("checklists:team_group_add", args=[team.slug]),
        {"new-group-name": "security", "new-group-required": "on", "new-group-members": [str(bob.pk)]},
    )
    assert grouped.status_code == 302 and list(ReviewerGroup.objects.get().members.all()) == [bob]


def test_a_webhook_secret_is_shown_once_on_the_page(client, team, bob):
    client.force_login(bob)
    created = client.post(
        reverse("checklists:team_webhook_add", args=[team.slug]),
        {"url": "https://hooks.example.com/x", "events": ["deployed"]},
    )
    secret = Webhook.objects.get().secret
    assert created.status_code == 201 and secret in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert secret not in page_of(client, bob, team).content.decode()
    refused = client.post(
        reverse("checklists:team_webhook_add", args=[team.slug]), {"url": "http://127.0.0.1/x"}
    )
    assert refused.status_code == 400 and Webhook.objects.count() == 1


def test_a_freeze_is_planned_on_the_page_in_utc(client, team, bob):
    client.force_login(bob)
    answer = client.post(
        reverse("checklists:team_freeze_add", args=[team.slug]),
        {"starts_at": "2099-12-20T18:00", "ends_at": "2099-12-27T08:00", "reason": "Holidays"},
    )
    assert answer.status_code == 302
    window = FreezeWindow.objects.get()
    assert window.starts_at.isoformat() == "2099-12-20T18:00:00+00:00"


def test_a_team_is_opened_on_a_page(client, mallory):
    client.force_login(mallory)
    assert client.get(reverse("checklists:team_create")).status_code == 200
    bad = client.post(reverse("checklists:team_create"), {"name": "Search", "slug": "Not A Slug"})
    assert bad.status_code == 400
    done = client.post(reverse("checklists:team_create"), {"name": "Search", "slug": "search"})
    assert done["Location"] == "/teams/search/"
    assert Team.objects.get(slug="search").owner == mallory
    listing = client.get(reverse("checklists:team_list")).content.decode()
    assert "Search" in listing and "owner" in listing


def test_the_team_page_takes_a_bounded_number_of_queries(client, team, bob, django_assert_max_num_queries):
    for n in range(8):
        add_member(team, UserFactory(username=f"person{n}"), "reviewer")
    workflow.save_reviewer_group(team, actor=bob, name="security", members=["person1", "person2"])
    client.force_login(bob)
    with django_assert_max_num_queries(30):
        assert client.get(reverse("checklists:team", args=[team.slug])).status_code == 200
