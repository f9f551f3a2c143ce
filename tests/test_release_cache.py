"""A cached release (JSON, page, review page) is never shown after something it shows changed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import workflow
from checklists.models import FreezeWindow, Membership, ReviewerGroup

from .helpers.api import client_for, release_url
from .helpers.factories import make_release
from .helpers.release_steps import ready_for_review


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.RELEASEGATE_FRAGMENT_CACHE_SECONDS = 60


def json_of(user, release):
    return client_for(user).get(release_url(release)).json()


def pages_of(client, user, release):
    client.force_login(user)
    return [
        client.get(reverse(name, args=[release.pk])).content.decode()
        for name in ("checklists:release", "checklists:release_review")
    ]


def test_the_second_read_comes_from_the_cache(approved, alice, django_assert_max_num_queries):
    client = client_for(alice)
    client.get(release_url(approved))
    with django_assert_max_num_queries(2):  # the token, the release with its facts
        assert client.get(release_url(approved)).json()["id"] == approved.pk


def test_a_reviewer_role_revoked_elsewhere_changes_what_is_shown(team, approved, alice, bob, client):
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is True
    pages_of(client, alice, approved)
    Membership.objects.filter(team=team, user=bob).update(role=Membership.Role.MEMBER)
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is False
    assert all("no longer enough" in html for html in pages_of(client, alice, approved))


def test_the_team_requiring_more_approvals_changes_what_is_shown(team, approved, alice, dave, client):
    assert json_of(dave, approved)["abilities"]["approve"]["allowed"] is False
    pages_of(client, dave, approved)
    team.required_approvals = 2
    team.save()
    assert json_of(dave, approved)["abilities"]["approve"]["allowed"] is True
    assert all('name="decision" value="approve"' in html for html in pages_of(client, dave, approved))


def test_a_freeze_starting_changes_what_is_shown(team, approved, alice, client):
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is True
    pages_of(client, alice, approved)
    now = timezone.now()
    FreezeWindow.objects.create(
        team=team, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1), reason="year end"
    )
    assert json_of(alice, approved)["abilities"]["deploy"]["code"] == "freeze"
    assert all("year end" in html for html in pages_of(client, alice, approved))


def test_production_moving_changes_what_ships(team, alice, bob, client, in_review):
    before = json_of(alice, in_review)["shipping"]
    pages_of(client, alice, in_review)
    other = ready_for_review(make_release(team, alice), alice)
    workflow.sign_off(other, actor=bob, decision="approve")
    workflow.deploy(other, actor=alice)  # in_review is not re-pointed yet (a task does it)
    after = json_of(alice, in_review)["shipping"]
    assert before["state"] == "ready" and after["state"] == "pending"
    assert all("Production moved" in html for html in pages_of(client, alice, in_review))


def test_an_approval_expiring_changes_what_is_shown(team, approved, alice, client):
    team.approval_valid_days = 2
    team.save()
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is True
    pages_of(client, alice, approved)
    approved.signoffs.update(created_at=timezone.now() - timedelta(days=3))
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is False


def test_required_groups_are_never_served_from_the_cache(team, approved, alice, bob, dave):
    group = ReviewerGroup.objects.create(team=team, name="security", required=True)
    group.members.set([bob])
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is True
    group.members.set([dave])  # members change without any release or team write
    assert json_of(alice, approved)["abilities"]["deploy"]["allowed"] is False


def test_each_person_gets_their_own_answer(approved, alice, bob):
    assert json_of(alice, approved)["abilities"]["approve"]["code"] == "self_review"
    assert json_of(bob, approved)["abilities"]["approve"]["code"] == "invalid_transition"
