"""The workflow rules of DESIGN.md, tested on checklists/workflow/ against the database."""

import pytest

from checklists import workflow
from checklists.errors import (
    BlockedError,
    InvalidInput,
    NotAllowed,
    NotAReviewerError,
    NotFound,
    SelfReviewError,
    TransitionError,
)
from checklists.models import AuditEvent, Release, ScanRun, SignOff

from .helpers.factories import make_release, register, release_data, sha
from .helpers.release_steps import item, pass_scans_in_review, read_range, ready_for_review, tick_manual_items


def events(release, verb=None):
    qs = AuditEvent.objects.filter(release=release)
    return qs.filter(verb=verb) if verb else qs


# --- creating ----------------------------------------------------------------


def test_new_release_copies_the_default_template(release):
    assert release.status == Release.Status.DRAFT
    assert release.items.count() == 19
    assert set(release.items.values_list("category", flat=True)) == {
        "correctness",
        "security",
        "operations",
        "deployment",
        "handoff",
    }
    assert list(events(release).values_list("verb", flat=True)) == ["release.created"]


def test_field_items_follow_the_fields_at_creation(team, alice):
    release = make_release(team, alice, rollback_plan="", version_after="")
    assert item(release, "deployment.rollback-plan").state == "open"
    assert item(release, "deployment.versions-noted").state == "open"
    assert item(release, "deployment.steps-written").state == "done"


def test_a_template_edit_does_not_rewrite_existing_releases(release):
    template_item = release.template.items.get(key="correctness.tests-pass")
    template_item.title = "Changed later"
    template_item.save()
    assert item(release, "correctness.tests-pass").title == "All tests pass (unit + integration)"


@pytest.mark.parametrize(
    "commit", ["abc123", "g" * 40, "a" * 39, "", None, "a" * 20 + " " + "a" * 19, "a" * 41, "HEAD"]
)
def test_commit_must_be_a_full_sha(team, alice, commit):
    with pytest.raises(InvalidInput) as exc:
        workflow.create_release(actor=alice, team=team, data=release_data(commit=commit))
    assert "40-character" in exc.value.details["commit"][0]
    assert not Release.objects.exists()


def test_an_upper_case_sha_is_stored_lower_case(team, alice):
    release = make_release(team, alice, commit="ABCDEF" + "0" * 34)
    assert release.commit == "abcdef" + "0" * 34


def test_text_fields_have_length_limits_and_refuse_nul(team, alice):
    with pytest.raises(InvalidInput) as exc:
        workflow.create_release(
            actor=alice,
            team=team,
            data=release_data(title="x" * 201, description="a\x00b", version_after="9" * 65),
        )
    assert set(exc.value.details) == {"title", "description", "version_after"}
    assert not Release.objects.exists()


@pytest.mark.parametrize(
    "repository",
    [
        "",
        "--upload-pack=touch /tmp/x",
        "ext::sh -c touch% /tmp/pwned",
        "https://x y",
        "https://a\nb",
        "ftp://host/repo",
    ],
)
def test_odd_repositories_are_refused(team, alice, repository):
    with pytest.raises(InvalidInput) as exc:
        workflow.create_release(actor=alice, team=team, data=release_data(repository=repository))
    assert "repository" in exc.value.details


@pytest.mark.parametrize(
    "repository",
    [
        "https://git.example.com/o/r.git",
        "git@git.example.com:o/r.git",
        "ssh://git@git.example.com/r",
        "/srv/r",
    ],
)
def test_a_release_names_a_registered_repository_by_location_or_id(team, alice, repository):
    registered = register(team, repository)
    assert make_release(team, alice, repository=repository).repository == registered
    assert make_release(team, alice, repository=registered.pk).repository == registered
    assert make_release(team, alice, repository=str(registered.pk)).repository == registered


def test_unknown_team_is_a_validation_error(alice, team):
    with pytest.raises(InvalidInput) as exc:
        workflow.create_release(actor=alice, team="nope", data=release_data())
    assert "team" in exc.value.details


def test_only_team_members_create_releases(team, mallory, carol):
    for outsider in (mallory, carol):
        with pytest.raises(NotAllowed):
            workflow.create_release(actor=outsider, team=team, data=release_data())
    assert not Release.objects.exists()


def test_unknown_fields_are_refused(team, alice):
    with pytest.raises(InvalidInput) as exc:
        workflow.create_release(actor=alice, team=team, data=release_data(status="approved"))
    assert "status" in exc.value.details


# --- items -------------------------------------------------------------------


def test_ticking_a_manual_item_records_who_and_evidence(release, alice):
    ticked = workflow.set_item_state(
        release, "correctness.idempotency-tested", actor=alice, state="done", evidence="tests/test_idem.py"
    )
    assert (ticked.state, ticked.evidence, ticked.set_by) == ("done", "tests/test_idem.py", alice)
    assert ticked.set_at is not None
    event = events(release, "item.updated").get()
    assert event.payload["key"] == "correctness.idempotency-tested"
    assert event.actor == alice


def test_the_same_tick_twice_is_a_no_op(release, alice):
    for _ in range(2):
        workflow.set_item_state(
            release, "correctness.idempotency-tested", actor=alice, state="done", evidence="e"
        )
    assert events(release, "item.updated").count() == 1


def test_unknown_item_key_is_not_found(release, alice):
    with pytest.raises(NotFound):
        workflow.set_item_state(release, "nope.nope", actor=alice, state="done")


def test_unknown_state_is_invalid(release, alice):
    with pytest.raises(InvalidInput):
        workflow.set_item_state(release, "correctness.idempotency-tested", actor=alice, state="finished")


def test_not_applicable_needs_a_reason(release, alice):
    with pytest.raises(InvalidInput):
        workflow.set_item_state(
            release, "handoff.oncall-briefed", actor=alice, state="not_applicable", reason=" "
        )
    workflow.set_item_state(
        release, "handoff.oncall-briefed", actor=alice, state="not_applicable", reason="Internal-only change."
    )
    assert item(release, "handoff.oncall-briefed").state == "not_applicable"


def test_waiving_is_for_hotfixes_only(release, hotfix, alice):
    with pytest.raises(InvalidInput, match="hotfix"):
        workflow.set_item_state(
            release, "handoff.oncall-briefed", actor=alice, state="waived", reason="incident"
        )
    workflow.set_item_state(
        hotfix, "handoff.oncall-briefed", actor=alice, state="waived", reason="INC-1 at night"
    )
    assert item(hotfix, "handoff.oncall-briefed").state == "waived"


@pytest.mark.parametrize(
    "key",
    [
        "deployment.second-pair-of-eyes",
        "security.no-hardcoded-secrets",
        "security.auth-on-endpoints",
        "deployment.rollback-plan",
    ],
)
def test_never_waivable_items_cannot_be_waived_even_on_a_hotfix(hotfix, alice, key):
    for state in ("waived", "not_applicable"):
        with pytest.raises(InvalidInput):
            workflow.set_item_state(hotfix, key, actor=alice, state=state, reason="incident")
    assert item(hotfix, key).state != "waived"


def test_scan_items_are_not_ticked_by_hand(release, alice):
    with pytest.raises(InvalidInput, match="scan"):
        workflow.set_item_state(release, "security.no-mock-flag", actor=alice, state="done")


def test_a_failed_automated_check_cannot_be_ticked_or_skipped_by_hand(release, alice):
    run = workflow.request_scans(release, actor=alice, scanners=["mock_flag"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(
        run.pk, status=ScanRun.Status.FAILED, findings=[{"file": ".env.prod", "line": 3}]
    )
    assert item(release, "security.no-mock-flag").state == "failed"
    for state, reason in (("done", ""), ("open", ""), ("not_applicable", "we think it is fine")):
        with pytest.raises(InvalidInput):
            workflow.set_item_state(release, "security.no-mock-flag", actor=alice, state=state, reason=reason)
    assert item(release, "security.no-mock-flag").state == "failed"


def test_a_failed_check_can_be_waived_on_a_hotfix(hotfix, alice):
    run = workflow.request_scans(hotfix, actor=alice, scanners=["mock_flag"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.FAILED)
    workflow.set_item_state(
        hotfix, "security.no-mock-flag", actor=alice, state="waived", reason="INC-9, fixed next"
    )
    assert item(hotfix, "security.no-mock-flag").state == "waived"


def test_field_items_follow_their_field(release, alice):
    with pytest.raises(InvalidInput):
        workflow.set_item_state(release, "deployment.rollback-plan", actor=alice, state="done")
    workflow.update_release(release, actor=alice, data={"rollback_plan": ""})
    assert item(release, "deployment.rollback-plan").state == "open"
    workflow.update_release(release, actor=alice, data={"rollback_plan": "Revert the deploy."})
    assert item(release, "deployment.rollback-plan").state == "done"


def test_signoff_item_is_never_set_by_hand(release, alice):
    with pytest.raises(InvalidInput):
        workflow.set_item_state(release, "deployment.second-pair-of-eyes", actor=alice, state="done")


def test_managers_and_outsiders_cannot_change_items(release, carol, mallory):
    for user in (carol, mallory):
        with pytest.raises(NotAllowed):
            workflow.set_item_state(release, "correctness.idempotency-tested", actor=user, state="done")
    assert item(release, "correctness.idempotency-tested").state == "open"


# --- submit ------------------------------------------------------------------


def test_submit_lists_every_blocking_item(release, alice):
    with pytest.raises(BlockedError) as exc:
        workflow.submit(release, actor=alice)
    keys = {blocker["key"] for blocker in exc.value.details}
    assert keys == set(release.items.filter(satisfied_by="manual").values_list("key", flat=True))
    release.refresh_from_db()
    assert release.status == "draft"
    assert not events(release, "release.submitted").exists()


def test_submit_queues_the_scans_not_run_yet_and_exempts_signoff(release, alice):
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    release.refresh_from_db()
    assert release.status == "in_review"
    assert release.submitted_at is not None
    queued = set(ScanRun.objects.filter(release=release).values_list("scanner", flat=True))
    assert queued == {"secrets", "mock_flag", "env_credentials", "debug_off", "tests", "auth_probe"}
    assert events(release, "release.submitted").get().payload["queued_scans"]


def test_submit_refuses_a_failed_scan(release, alice):
    tick_manual_items(release, alice)
    run = workflow.request_scans(release, actor=alice, scanners=["secrets"])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.FAILED)
    with pytest.raises(BlockedError) as exc:
        workflow.submit(release, actor=alice)
    assert [b["key"] for b in exc.value.details] == ["security.no-hardcoded-secrets"]


def test_hotfix_submits_with_waived_items_and_reasons(hotfix, alice):
    tick_manual_items(hotfix, alice)
    workflow.set_item_state(hotfix, "handoff.oncall-briefed", actor=alice, state="waived", reason="INC-1")
    workflow.submit(hotfix, actor=alice)
    hotfix.refresh_from_db()
    assert hotfix.status == "in_review"


def test_submit_from_a_wrong_state_is_a_transition_error(in_review, alice):
    with pytest.raises(TransitionError):
        workflow.submit(in_review, actor=alice)


# --- sign-off ----------------------------------------------------------------


def test_author_cannot_approve_own_release(in_review, alice, team):
    team.memberships.filter(user=alice).update(role="reviewer")
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="approve")
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="reject", comment="no")
    assert not SignOff.objects.exists()


def test_author_cannot_approve_even_as_superuser(in_review, alice):
    alice.is_superuser = alice.is_staff = True
    alice.save()
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="approve")


def test_members_managers_and_outsiders_are_not_reviewers(in_review, ci_user, carol, mallory):
    for user in (ci_user, carol, mallory):
        with pytest.raises(NotAReviewerError):
            workflow.sign_off(in_review, actor=user, decision="approve")
    assert not SignOff.objects.exists()


def test_one_approval_approves_by_default(in_review, bob):
    result = workflow.sign_off(in_review, actor=bob, decision="approve", comment="ok")
    assert result.release.status == "approved"
    assert result.signoff.commit == in_review.commit
    assert len(result.signoff.checklist_digest) == 64
    assert item(in_review, "deployment.second-pair-of-eyes").state == "done"


def test_required_approvals_count_distinct_reviewers(team, in_review, bob, dave):
    team.required_approvals = 2
    team.save()
    workflow.sign_off(in_review, actor=bob, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    with pytest.raises(TransitionError):
        workflow.sign_off(in_review, actor=bob, decision="approve")
    workflow.sign_off(in_review, actor=dave, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def test_an_approval_from_a_reviewer_who_lost_the_role_does_not_count(team, in_review, bob, dave):
    team.required_approvals = 2
    team.save()
    workflow.sign_off(in_review, actor=bob, decision="approve")
    team.memberships.filter(user=bob).update(role="member")
    workflow.sign_off(in_review, actor=dave, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert workflow.count_current_approvals(in_review) == 1


def test_approval_waits_for_pending_scans(release, alice, bob):
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    with pytest.raises(BlockedError) as exc:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert {b["why"] for b in exc.value.details} == {"the scan has not finished"}
    pass_scans_in_review(release)
    read_range(release)
    assert workflow.sign_off(release, actor=bob, decision="approve").release.status == "approved"


def test_approval_refused_while_a_scan_failed(release, alice, bob):
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    for run in ScanRun.objects.filter(release=release):
        workflow.claim_scan(run.pk)
        status = ScanRun.Status.FAILED if run.scanner == "secrets" else ScanRun.Status.PASSED
        workflow.record_scan_result(run.pk, status=status)
    with pytest.raises(BlockedError) as exc:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert [b["key"] for b in exc.value.details] == ["security.no-hardcoded-secrets"]


def test_rejection_needs_a_comment_and_returns_to_draft(in_review, bob):
    with pytest.raises(InvalidInput):
        workflow.sign_off(in_review, actor=bob, decision="reject", comment="  ")
    workflow.sign_off(in_review, actor=bob, decision="reject", comment="Rollback plan is vague.")
    in_review.refresh_from_db()
    assert in_review.status == "draft"
    assert events(in_review, "signoff.reject").get().payload["status"] == "draft"


def test_resubmitting_makes_earlier_decisions_stale(in_review, alice, bob):
    workflow.sign_off(in_review, actor=bob, decision="reject", comment="Fix the plan.")
    workflow.submit(in_review, actor=alice)
    assert SignOff.objects.get(reviewer=bob).stale is True
    workflow.sign_off(in_review, actor=bob, decision="approve")


def test_sign_off_on_a_draft_is_a_transition_error(release, bob):
    with pytest.raises(TransitionError):
        workflow.sign_off(release, actor=bob, decision="approve")


def test_unknown_decision_is_invalid(in_review, bob):
    with pytest.raises(InvalidInput):
        workflow.sign_off(in_review, actor=bob, decision="maybe")


# --- stale approvals -----------------------------------------------------------


def test_an_item_change_after_approval_makes_it_stale_and_returns_to_review(approved, alice):
    workflow.set_item_state(
        approved, "handoff.oncall-briefed", actor=alice, state="not_applicable", reason="Minor change."
    )
    approved.refresh_from_db()
    assert approved.status == "in_review"
    assert SignOff.objects.get(release=approved).stale is True
    assert item(approved, "deployment.second-pair-of-eyes").state == "open"
    assert events(approved, "item.updated").last().payload["signoffs_made_stale"] == 1


def test_a_commit_change_after_approval_makes_it_stale_and_reopens_scans(approved, alice):
    workflow.update_release(approved, actor=alice, data={"commit": sha()})
    approved.refresh_from_db()
    assert approved.status == "in_review"
    assert SignOff.objects.get(release=approved).stale is True
    scan_states = set(approved.items.filter(satisfied_by__startswith="scan:").values_list("state", flat=True))
    assert scan_states == {"open"}
    assert item(approved, "correctness.idempotency-tested").state == "done"


def test_a_version_change_after_approval_makes_it_stale(approved, alice):
    workflow.update_release(approved, actor=alice, data={"version_after": "2.4.1"})
    approved.refresh_from_db()
    assert approved.status == "in_review"
    assert SignOff.objects.get(release=approved).stale


def test_an_unchanged_update_keeps_the_approval(approved, alice):
    workflow.update_release(approved, actor=alice, data={"version_after": approved.version_after})
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert not events(approved, "release.updated").exists()


def test_stale_approvals_need_a_fresh_approval(approved, alice, bob):
    workflow.update_release(approved, actor=alice, data={"version_after": "2.4.1"})
    workflow.sign_off(approved, actor=bob, decision="approve", comment="still fine")
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert SignOff.objects.filter(release=approved, stale=False).count() == 1


# --- deploy, rollback, cancel ----------------------------------------------------


def test_deploy_needs_approved(in_review, alice):
    with pytest.raises(TransitionError):
        workflow.deploy(in_review, actor=alice)


def test_deploy_records_the_version_after(approved, ci_user):
    workflow.deploy(approved, actor=ci_user, version_after="2.4.0")
    approved.refresh_from_db()
    assert (approved.status, approved.version_after) == ("deployed", "2.4.0")
    assert approved.deployed_at is not None


def test_deploy_refuses_another_commit_or_version(approved, alice):
    with pytest.raises(TransitionError):
        workflow.deploy(approved, actor=alice, commit=sha())
    with pytest.raises(TransitionError):
        workflow.deploy(approved, actor=alice, version_after="9.9.9")
    approved.refresh_from_db()
    assert approved.status == "approved"


def test_managers_cannot_deploy(approved, carol):
    with pytest.raises(NotAllowed):
        workflow.deploy(approved, actor=carol)


def test_rollback_needs_a_reason(approved, alice):
    workflow.deploy(approved, actor=alice)
    with pytest.raises(InvalidInput):
        workflow.rollback(approved, actor=alice, reason="")
    workflow.rollback(approved, actor=alice, reason="Error rate doubled.")
    approved.refresh_from_db()
    assert (approved.status, approved.rollback_reason) == ("rolled_back", "Error rate doubled.")


def test_rollback_of_a_release_never_deployed_is_refused(approved, alice):
    with pytest.raises(TransitionError):
        workflow.rollback(approved, actor=alice, reason="why not")


def test_cancel_from_draft_or_review_only(approved, alice, team):
    draft = make_release(team, alice)
    workflow.cancel(draft, actor=alice)
    in_review = ready_for_review(make_release(team, alice), alice)
    workflow.cancel(in_review, actor=alice)
    with pytest.raises(TransitionError):
        workflow.cancel(approved, actor=alice)
    assert list(Release.objects.order_by("pk").values_list("status", flat=True)) == [
        "approved",
        "cancelled",
        "cancelled",
    ]


def test_a_cancelled_release_no_longer_changes(release, alice):
    workflow.cancel(release, actor=alice)
    with pytest.raises(TransitionError):
        workflow.set_item_state(release, "correctness.idempotency-tested", actor=alice, state="done")
    with pytest.raises(TransitionError):
        workflow.update_release(release, actor=alice, data={"title": "again"})


# --- audit -------------------------------------------------------------------


def test_every_change_writes_exactly_one_audit_event(release, alice, bob):
    tick_manual_items(release, alice)
    manual = release.items.filter(satisfied_by="manual").count()
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)
    read_range(release)
    workflow.sign_off(release, actor=bob, decision="approve")
    workflow.deploy(release, actor=alice)
    verbs = list(events(release).values_list("verb", flat=True))
    assert verbs.count("item.updated") == manual
    assert verbs.count("scan.finished") == 6
    assert [v for v in verbs if v.startswith("release.") or v.startswith("signoff.")] == [
        "release.created",
        "release.submitted",
        "signoff.approve",
        "release.deployed",
    ]


def test_a_refused_change_writes_no_audit_event(in_review, alice):
    before = AuditEvent.objects.count()
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="approve")
    assert AuditEvent.objects.count() == before


def test_audit_events_cannot_be_changed_or_deleted_through_the_orm(release):
    event = AuditEvent.objects.get(release=release)
    event.verb = "forged"
    with pytest.raises(AuditEvent.Immutable):
        event.save()
    with pytest.raises(AuditEvent.Immutable):
        event.delete()
    with pytest.raises(AuditEvent.Immutable):
        AuditEvent.objects.filter(pk=event.pk).update(verb="forged")
    with pytest.raises(AuditEvent.Immutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "release.created"


# --- scans -------------------------------------------------------------------


def test_the_same_scan_request_twice_makes_one_run(release, alice):
    workflow.request_scans(release, actor=alice, scanners=["secrets"])
    workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert ScanRun.objects.filter(release=release, scanner="secrets").count() == 1


def test_a_forced_rerun_keeps_history_and_makes_a_new_current_run(release, alice):
    first = workflow.request_scans(release, actor=alice, scanners=["secrets"])[0]
    workflow.claim_scan(first.pk)
    workflow.record_scan_result(first.pk, status=ScanRun.Status.FAILED)
    second = workflow.request_scans(release, actor=alice, scanners=["secrets"], force=True)[0]
    assert second.pk != first.pk
    first.refresh_from_db()
    assert (first.current, second.current) == (False, True)
    assert item(release, "security.no-hardcoded-secrets").state == "open"


def test_a_scan_result_is_recorded_once(release, alice):
    run = workflow.request_scans(release, actor=alice, scanners=["secrets"])[0]
    assert workflow.claim_scan(run.pk) is True
    assert workflow.claim_scan(run.pk) is False
    workflow.record_scan_result(run.pk, status=ScanRun.Status.PASSED)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.FAILED)
    run.refresh_from_db()
    assert run.status == "passed"
    assert events(release, "scan.finished").count() == 1


def test_a_result_for_an_old_commit_does_not_tick_the_item(release, alice):
    run = workflow.request_scans(release, actor=alice, scanners=["secrets"])[0]
    workflow.update_release(release, actor=alice, data={"commit": sha()})
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status=ScanRun.Status.PASSED)
    assert item(release, "security.no-hardcoded-secrets").state == "open"


def test_unknown_scanner_is_invalid(release, alice):
    with pytest.raises(InvalidInput):
        workflow.request_scans(release, actor=alice, scanners=["rm -rf"])


def test_a_forced_rerun_supersedes_a_running_scan_whose_result_then_ticks_nothing(release, alice):
    running = workflow.request_scans(release, actor=alice, scanners=["tests"])[0]
    workflow.claim_scan(running.pk)
    fresh = workflow.request_scans(release, actor=alice, scanners=["tests"], force=True)[0]
    assert fresh.pk != running.pk
    workflow.record_scan_result(running.pk, status=ScanRun.Status.FAILED)
    assert item(release, "correctness.tests-pass").state == "open"
    workflow.claim_scan(fresh.pk)
    workflow.record_scan_result(fresh.pk, status=ScanRun.Status.PASSED)
    assert item(release, "correctness.tests-pass").state == "done"


def test_a_forced_request_while_queued_reuses_the_queued_run(release, alice):
    queued = workflow.request_scans(release, actor=alice, scanners=["tests"])[0]
    assert workflow.request_scans(release, actor=alice, scanners=["tests"], force=True) == [queued]
