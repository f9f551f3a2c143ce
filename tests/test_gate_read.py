"""The gate's one-statement shortcut never says "open" where the full rules say "closed"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from checklists import workflow
from checklists.models import FreezeWindow, Membership, Release, ReviewerGroup
from checklists.policy import gate as gate_rules
from checklists.policy.gate import open_gate

from .helpers.api import client_for, release_url
from .helpers.factories import make_release
from .helpers.release_states import STATES
from .helpers.release_steps import read_range


def full_rules_open(release, commit) -> bool:
    return gate_rules.gate_status(Release.objects.get(pk=release.pk), commit).reasons == []


def both_answers(release, user, commit=None):
    commit = commit or release.commit
    return open_gate(user, release.pk, commit), full_rules_open(release, commit)


@pytest.mark.parametrize("state", STATES, ids=lambda f: f.__name__)
def test_the_shortcut_agrees_with_the_full_rules_in_every_state(state, team, alice, bob, dave, ci_user):
    release = state(team=team, alice=alice, bob=bob, dave=dave)
    fast, full = both_answers(release, ci_user)
    assert (fast is not None) == full, (state.__name__, fast, full)


def approve(team, alice, bob):
    from .helpers.release_states import approved

    return approved(team, alice, bob)


def test_the_shortcut_answers_open_with_the_same_body_as_the_full_rules(
    team, alice, bob, ci_user, settings, monkeypatch
):
    release = approve(team, alice, bob)
    fast_body = client_for(ci_user).get(release_url(release, f"gate/?commit={release.commit}")).json()
    # The same request decided by the full rules (the shortcut turned off).
    from checklists.policy import gate

    monkeypatch.setattr(gate, "open_gate", lambda *a, **k: None)
    full_body = client_for(ci_user).get(release_url(release, f"gate/?commit={release.commit}")).json()
    assert fast_body == full_body


@pytest.mark.parametrize(
    "change",
    [
        "team_requires_two",
        "required_group",
        "freeze_now",
        "approval_expired",
        "reviewer_role_revoked",
        "production_moved",
        "wrong_commit",
        "older_than_production",
    ],
)
def test_what_changes_the_answer_without_a_release_write_closes_the_shortcut_too(
    change, team, alice, bob, dave, ci_user
):
    release = approve(team, alice, bob)
    commit = release.commit
    if change == "team_requires_two":
        team.required_approvals = 2
        team.save()
    elif change == "required_group":
        ReviewerGroup.objects.create(team=team, name="security", required=True).members.set([dave])
    elif change == "freeze_now":
        now = timezone.now()
        FreezeWindow.objects.create(
            team=team, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), reason="holidays"
        )
    elif change == "approval_expired":
        team.approval_valid_days = 1
        team.save()
        release.signoffs.update(created_at=timezone.now() - timedelta(days=2))
    elif change == "reviewer_role_revoked":
        Membership.objects.filter(team=team, user=bob).update(role=Membership.Role.MEMBER)
    elif change == "production_moved":
        other = approve(team, alice, bob)
        workflow.deploy(other, actor=alice)  # the repoint task has not run yet
    elif change == "wrong_commit":
        commit = "0" * 40
    elif change == "older_than_production":
        rng = release.commit_range
        rng.relation, rng.behind_by = "behind", 1
        rng.save()
    fast, full = both_answers(release, ci_user, commit)
    assert fast is None and full is False, change


def test_the_shortcut_keeps_an_approval_within_its_validity(team, alice, bob, ci_user):
    release = approve(team, alice, bob)
    team.approval_valid_days = 3
    team.save()
    release.signoffs.update(created_at=timezone.now() - timedelta(days=1))
    fast, full = both_answers(release, ci_user)
    assert fast is not None and full is True


def test_the_shortcut_answers_only_readers(team, alice, bob, mallory, carol):
    release = approve(team, alice, bob)
    assert open_gate(mallory, release.pk, release.commit) is None
    assert open_gate(carol, release.pk, release.commit) is not None  # a manager reads every release
    assert client_for(mallory).get(release_url(release, f"gate/?commit={release.commit}")).status_code == 404


def test_a_second_release_of_the_same_commit_reads_its_own_range(team, alice, bob, ci_user):
    release = approve(team, alice, bob)
    other = make_release(team, alice, commit=release.commit)
    read_range(other)
    assert open_gate(ci_user, other.pk, other.commit) is None  # a draft
