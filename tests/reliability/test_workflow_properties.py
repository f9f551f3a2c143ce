"""Random people doing random things in random order: DESIGN.md's invariants hold after every step.

A hypothesis state machine drives the workflow functions directly (as every page, API
call, admin action and task does) with a team of an author, two reviewers, a member,
a manager and an outsider. After each step it checks:

- nobody ever signed off their own release (rule 2);
- an approved (or deployed) release has enough counting approvals and, while approved,
  nothing blocks approval (rules 1 and 3);
- a refused change changes nothing; a successful one bumps the revision and writes
  exactly one audit event, so every release has as many events as its revision (rule 6);
- a failed scan item was set by its scan, skipped items carry a reason, waivers only
  on hotfixes (rule 4); at the end, the audit hash chain is intact.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from checklists import workflow
from checklists.errors import WorkflowError
from checklists.models import AuditEvent, ChecklistItem, Membership, Release, ScanRun, audit
from checklists.policy import approvals
from tests.helpers.factories import (
    TeamFactory,
    UserFactory,
    add_member,
    ensure_default_template,
    make_manager,
    release_data,
)

pytestmark = pytest.mark.reliability
STATES = [s for s, _ in ChecklistItem.State.choices]
PEOPLE = ["author", "reviewer1", "reviewer2", "member", "manager", "outsider"]
TEXT = st.sampled_from(["", " ", "see CI run 7", "n/a: no UI change", "x" * 50])


class Workflow(RuleBasedStateMachine):
    @initialize(hotfix=st.booleans())
    def team_and_first_release(self, hotfix):
        ensure_default_template()
        n = Workflow.instances = getattr(Workflow, "instances", 0) + 1
        self.people = {name: UserFactory(username=f"{name}-{n}") for name in PEOPLE}
        self.team = TeamFactory(slug=f"prop-{n}", name=f"Prop {n}", owner=self.people["reviewer1"])
        add_member(self.team, self.people["author"], Membership.Role.MEMBER)
        add_member(self.team, self.people["member"], Membership.Role.MEMBER)
        add_member(self.team, self.people["reviewer1"], Membership.Role.REVIEWER)
        add_member(self.team, self.people["reviewer2"], Membership.Role.REVIEWER)
        make_manager(self.people["manager"])
        self.releases: list[int] = []
        self.keys: list[str] = []
        self.create("author", hotfix)

    # --- helpers -----------------------------------------------------------------
    def attempt(self, release_id: int | None, change) -> None:
        """Run a change; refused means nothing changed, accepted means one revision and one event."""
        before = self.state_of(release_id)
        try:
            change()
        except WorkflowError:
            assert self.state_of(release_id) == before, "a refused change changed something"
            return
        after = self.state_of(release_id)
        if release_id is not None and after != before:
            revision_delta = after[0] - before[0]
            events_delta = after[1] - before[1]
            assert revision_delta == events_delta == 1, (revision_delta, events_delta)

    def state_of(self, release_id: int | None) -> tuple:
        if release_id is None:
            return (Release.objects.count(), AuditEvent.objects.count())
        release = Release.objects.get(pk=release_id)
        return (
            release.revision,
            release.events.count(),
            release.status,
            tuple(release.items.order_by("key").values_list("state", "evidence", "reason")),
            tuple(release.signoffs.order_by("id").values_list("decision", "stale")),
        )

    # --- rules -------------------------------------------------------------------
    @rule(who=st.sampled_from(PEOPLE), hotfix=st.booleans())
    def create(self, who, hotfix):
        def change():
            release = workflow.create_release(
                actor=self.people[who],
                team=self.team,
                data=release_data(kind="hotfix" if hotfix else "standard"),
            )
            self.releases.append(release.pk)
            if not self.keys:
                self.keys = list(release.items.values_list("key", flat=True))

        self.attempt(None, change)

    @precondition(lambda self: self.releases)
    @rule(
        data=st.data(), who=st.sampled_from(PEOPLE), state=st.sampled_from(STATES), evidence=TEXT, reason=TEXT
    )
    def set_item(self, data, who, state, evidence, reason):
        pk = data.draw(st.sampled_from(self.releases))
        key = data.draw(st.sampled_from(self.keys))
        self.attempt(pk, lambda: workflow.set_item_state(
            pk, key, actor=self.people[who], state=state, evidence=evidence, reason=reason))  # fmt: skip

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def tick_everything_manual(self, data, who):
        pk = data.draw(st.sampled_from(self.releases))
        for key in (
            Release.objects.get(pk=pk).items.filter(satisfied_by="manual").values_list("key", flat=True)
        ):
            self.attempt(pk, lambda key=key: workflow.set_item_state(
                pk, key, actor=self.people[who], state="done", evidence="ok"))  # fmt: skip

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def submit(self, data, who):
        pk = data.draw(st.sampled_from(self.releases))
        self.attempt(pk, lambda: workflow.submit(pk, actor=self.people[who]))

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE), decision=st.sampled_from(["approve", "reject"]),
          comment=TEXT)  # fmt: skip
    def sign_off(self, data, who, decision, comment):
        pk = data.draw(st.sampled_from(self.releases))
        self.attempt(pk, lambda: workflow.sign_off(
            pk, actor=self.people[who], decision=decision, comment=comment))  # fmt: skip

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE), force=st.booleans())
    def request_scans(self, data, who, force):
        pk = data.draw(st.sampled_from(self.releases))
        self.attempt(pk, lambda: workflow.request_scans(pk, actor=self.people[who], force=force))

    @precondition(lambda self: ScanRun.objects.filter(release_id__in=self.releases, status="queued").exists())
    @rule(data=st.data(), outcome=st.sampled_from(["passed", "passed", "failed", "error"]))
    def worker_finishes_a_scan(self, data, outcome):
        runs = list(ScanRun.objects.filter(release_id__in=self.releases, status="queued").order_by("pk"))
        run = data.draw(st.sampled_from(runs))
        assert workflow.claim_scan(run.pk)
        assert not workflow.claim_scan(run.pk), "a second worker claimed the same run"
        self.attempt(run.release_id, lambda: workflow.record_scan_result(run.pk, status=outcome))
        # Redelivered: the second result changes nothing.
        self.attempt(run.release_id, lambda: workflow.record_scan_result(run.pk, status="passed"))

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE), commit=st.booleans())
    def update(self, data, who, commit):
        pk = data.draw(st.sampled_from(self.releases))
        change = {"commit": release_data()["commit"]} if commit else {"version_after": "9.9.9"}
        self.attempt(pk, lambda: workflow.update_release(pk, actor=self.people[who], data=change))

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), who=st.sampled_from(PEOPLE), verb=st.sampled_from(["deploy", "rollback", "cancel"]),
          reason=TEXT)  # fmt: skip
    def transition(self, data, who, verb, reason):
        pk = data.draw(st.sampled_from(self.releases))
        actor = self.people[who]
        calls = {
            "deploy": lambda: workflow.deploy(pk, actor=actor),
            "rollback": lambda: workflow.rollback(pk, actor=actor, reason=reason),
            "cancel": lambda: workflow.cancel(pk, actor=actor, reason=reason),
        }
        self.attempt(pk, calls[verb])

    # --- invariants ----------------------------------------------------------------
    @invariant()
    def nobody_signs_off_their_own_release(self):
        releases = Release.objects.filter(pk__in=getattr(self, "releases", []))
        for release in releases:
            assert not release.signoffs.filter(reviewer_id=release.author_id).exists()
            assert not release.signoffs.exclude(
                reviewer__memberships__team=release.team, reviewer__memberships__role="reviewer"
            ).exists(), "a sign-off from someone who is not a reviewer of the team"

    @invariant()
    def approved_releases_satisfy_the_approval_rules(self):
        for release in Release.objects.filter(pk__in=getattr(self, "releases", [])).select_related("team"):
            if release.status == Release.Status.APPROVED:
                assert approvals.shortfall(release) == []
                assert workflow.blocking_items(release, for_submit=False) == []
                assert release.signoffs.filter(
                    stale=False, decision="approve", commit=release.commit
                ).exists()
            if release.status in (Release.Status.DEPLOYED, Release.Status.ROLLED_BACK):
                assert len(approvals.counting_approvals(release)) >= release.team.required_approvals
            if release.status in (Release.Status.IN_REVIEW, Release.Status.APPROVED, Release.Status.DEPLOYED):
                assert release.submitted_at is not None

    @invariant()
    def one_audit_event_per_change(self):
        for release in Release.objects.filter(pk__in=getattr(self, "releases", [])):
            assert release.events.count() == release.revision, (release.pk, release.revision)

    @invariant()
    def item_states_follow_the_rules(self):
        items = ChecklistItem.objects.filter(release_id__in=getattr(self, "releases", []))
        for item in items.select_related("release"):
            if item.state == "failed":
                assert item.is_scan and item.scan_id is not None and item.set_by_id is None
            if item.state in ("waived", "not_applicable"):
                assert item.reason.strip() and item.waivable
            if item.state == "waived":
                assert item.release.kind == "hotfix"


def test_workflow_invariants_hold_after_every_random_step(db):
    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    # Walked once at the end: every example appended to the same chain.
    assert audit.verify_chain().broken is None
