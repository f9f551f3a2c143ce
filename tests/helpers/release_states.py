"""Releases in every state a person meets, built through the workflow: the abilities matrix
(tests/test_abilities.py) and the gate's shortcut (tests/test_gate_read.py) walk the same ones."""

from __future__ import annotations

from checklists import workflow

from .factories import make_release
from .release_steps import pass_scans_in_review, read_range, ready_for_review, tick_manual_items


def draft_with_blockers(team, alice, **_):
    return make_release(team, alice)


def draft_ready(team, alice, **_):
    release = make_release(team, alice)
    tick_manual_items(release, alice)
    return release


def in_review_pending_scans(team, alice, **_):
    release = draft_ready(team, alice)
    workflow.submit(release, actor=alice)
    read_range(release)
    return release


def in_review(team, alice, **_):
    return ready_for_review(make_release(team, alice), alice)


def in_review_range_pending(team, alice, **_):
    release = draft_ready(team, alice)
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)
    return release


def in_review_dave_ticked(team, alice, dave, **_):
    release = make_release(team, alice)
    tick_manual_items(release, alice)
    workflow.set_item_state(release, "correctness.idempotency-tested", actor=dave, state="done", evidence="x")
    return ready_for_review(release, alice)


def hotfix_range_unreadable(team, alice, **_):
    release = make_release(team, alice, kind="hotfix")
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)
    read_range(release, error="Could not fetch: repository not found")
    return release


def older_than_production(team, alice, bob, **_):
    release = ready_for_review(make_release(team, alice), alice)
    release.commit_range.relation, release.commit_range.behind_by = "behind", 2
    release.commit_range.save()
    return release


def approved(team, alice, bob, **_):
    release = in_review(team, alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    return release


def approved_team_now_requires_two(team, alice, bob, **_):
    release = approved(team, alice, bob)
    team.required_approvals = 2
    team.save()
    return release


def deployed(team, alice, bob, **_):
    release = approved(team, alice, bob)
    workflow.deploy(release, actor=alice)
    return release


def rolled_back(team, alice, bob, **_):
    release = deployed(team, alice, bob)
    workflow.rollback(release, actor=alice, reason="latency")
    return release


def cancelled(team, alice, **_):
    release = make_release(team, alice)
    workflow.cancel(release, actor=alice, reason="dropped")
    return release


STATES = [
    draft_with_blockers,
    draft_ready,
    in_review_pending_scans,
    in_review_range_pending,
    in_review,
    in_review_dave_ticked,
    hotfix_range_unreadable,
    older_than_production,
    approved,
    approved_team_now_requires_two,
    deployed,
    rolled_back,
    cancelled,
]
