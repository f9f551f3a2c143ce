"""Reviewer independence from the content, and approvals that fail closed on what ships.

What ships is read by a worker (the `read_commit_range` task, run here in-process on real
git repositories) and stored; sign-off, the gate, the page and the API read only the stored
range. The attack these tests repeat: a reviewer approving his own code by pointing the
release at a commit he wrote, then at a repository that cannot be read.
"""

import os
import subprocess

import pytest
from django.urls import reverse

from checklists import tasks, workflow
from checklists.errors import InvalidInput, NotAllowed, SelfReviewError, TransitionError
from checklists.git import commit_range
from checklists.models import AuditEvent, CommitRange, Contribution, Release, ScanRun
from checklists.policy import gate as gate_rules

from .helpers.api import assert_error, client_for, release_url
from .helpers.factories import make_release, register
from .helpers.git import make_repo
from .helpers.release_steps import pass_scans_in_review, ready_for_review, tick_manual_items

MANUAL = "correctness.idempotency-tested"


def commit_as(path, name, *, committer=None, files=None, message="change"):
    committer = committer or name
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": f"{name}@example.com",
        "GIT_COMMITTER_NAME": committer,
        "GIT_COMMITTER_EMAIL": f"{committer}@example.com",
    }
    for file, content in (files or {f"{name}.txt": message}).items():
        (path / file).write_text(content)
    run = lambda *args: subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)  # noqa: E731
    run("add", "-A")
    run("commit", "--quiet", "-m", message)
    return run("rev-parse", "HEAD").stdout.decode().strip()


def submitted(release, alice):
    """Ticked, submitted and its scans passed; what ships is left to the real worker."""
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)
    release.refresh_from_db()
    return release


def worker_reads(release) -> CommitRange:
    """What a worker does after the workflow asked for the range: the real task, in-process."""
    release.refresh_from_db()
    tasks.read_commit_range(release.commit_range_id)
    release.refresh_from_db()
    return release.commit_range


def dave_ticks_one_item(release, alice, dave):
    tick_manual_items(release, alice)
    workflow.set_item_state(release, MANUAL, actor=dave, state="done", evidence="I tested it")
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)


@pytest.fixture
def repo(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    url, base = make_repo(tmp_path / "repo", {"README.md": "payments\n"})
    return {"url": url, "path": tmp_path / "repo", "base": base}


def real_release(team, author, *, repository, commit, **extra):
    release = make_release(team, author, repository=repository, commit=commit, **extra)
    worker_reads(release)
    return release


def deploy_release(team, alice, dave, *, repository, commit):
    release = ready_for_review(real_release(team, alice, repository=repository, commit=commit), alice)
    workflow.sign_off(release, actor=dave, decision="approve")
    return workflow.deploy(release, actor=alice)


@pytest.fixture
def shipped_by_bob(team, alice, dave, repo):
    """Team deployed the base; the new release ships a commit bob wrote and one alice wrote."""
    deploy_release(team, alice, dave, repository=repo["url"], commit=repo["base"])
    commit_as(repo["path"], "bob", files={"api.py": "refunds = True\n"}, message="Add refunds")
    head = commit_as(repo["path"], "alice", files={"docs.md": "refunds\n"}, message="Document refunds")
    release = real_release(team, alice, repository=repo["url"], commit=head)
    return ready_for_review(release, alice)


# --- what ships, read by a worker ------------------------------------------------------


def test_what_ships_lists_commits_files_and_counts_since_the_last_deployment(shipped_by_bob, repo):
    rng = shipped_by_bob.commit_range
    assert (
        rng.status == "ready" and rng.base == repo["base"] and rng.relation == "ahead" and rng.ahead_by == 2
    )
    assert [c["subject"] for c in rng.commits] == ["Document refunds", "Add refunds"]
    assert {f["path"]: (f["additions"], f["deletions"]) for f in rng.files} == {
        "api.py": (1, 0),
        "docs.md": (1, 0),
    }
    assert {c["author_email"] for c in rng.commits} == {"alice@example.com", "bob@example.com"}


def test_a_release_is_pending_until_a_worker_read_it_and_approval_waits(team, alice, bob, repo):
    release = make_release(team, alice, repository=repo["url"], commit=repo["base"])
    tick_manual_items(release, alice)
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)
    with pytest.raises(TransitionError) as refused:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert refused.value.code == "range_pending"
    assert worker_reads(release).relation == "new"
    assert workflow.sign_off(release, actor=bob, decision="approve").release.status == "approved"


def test_range_is_capped(team, alice, repo, monkeypatch):
    monkeypatch.setattr(commit_range, "MAX_COMMITS", 2)
    for n in range(3):
        head = commit_as(repo["path"], "carol", message=f"c{n}", files={f"f{n}.txt": str(n)})
    rng = real_release(team, alice, repository=repo["url"], commit=head).commit_range
    assert rng.truncated and len(rng.commits) == 2


# --- who may approve ------------------------------------------------------------------------


def test_a_commit_author_in_the_range_may_not_approve(shipped_by_bob, bob, dave):
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(shipped_by_bob, actor=bob, decision="approve")
    assert refused.value.code == "commit_author"
    assert "authored or committed 1 commit" in refused.value.message
    workflow.sign_off(shipped_by_bob, actor=dave, decision="approve")  # dave wrote nothing in it


def test_a_committer_counts_like_an_author(team, alice, bob, dave, repo):
    deploy_release(team, alice, dave, repository=repo["url"], commit=repo["base"])
    head = commit_as(repo["path"], "alice", committer="bob", message="Applied by bob")
    release = ready_for_review(real_release(team, alice, repository=repo["url"], commit=head), alice)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert refused.value.code == "commit_author"


def test_the_team_may_relax_the_commit_author_rule(shipped_by_bob, team, bob):
    team.allow_commit_authors_to_review = True
    team.save()
    result = workflow.sign_off(shipped_by_bob, actor=bob, decision="approve")
    assert result.release.status == "approved"


def test_whoever_ticked_a_manual_item_may_not_approve(release, alice, dave, bob):
    dave_ticks_one_item(release, alice, dave)
    read_range_of(release)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and MANUAL in refused.value.message
    assert refused.value.details["reasons"][0]["items"] == [MANUAL]
    workflow.sign_off(release, actor=bob, decision="approve")


def read_range_of(release):
    from .helpers.release_steps import read_range

    return read_range(release)


def test_the_author_is_still_refused_first_as_self_review(in_review, alice):
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="approve")


# --- the attack: a reviewer approving his own code -------------------------------------------


def test_a_reviewer_who_points_the_release_at_his_commit_may_not_approve_it(team, alice, bob, dave, repo):
    deploy_release(team, alice, dave, repository=repo["url"], commit=repo["base"])
    head = commit_as(repo["path"], "alice", message="alice's change")
    release = ready_for_review(real_release(team, alice, repository=repo["url"], commit=head), alice)
    bobs = commit_as(repo["path"], "bob", message="bob's change")
    workflow.update_release(release, actor=bob, data={"commit": bobs})
    worker_reads(release)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert refused.value.code == "changed_release"
    assert {r["code"] for r in refused.value.details["reasons"]} == {"changed_release", "commit_author"}
    assert Contribution.objects.filter(release=release, user=bob, kind="commit").exists()


def test_an_unreadable_repository_refuses_approval_instead_of_warning(team, alice, bob, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    release = submitted(make_release(team, alice, repository=str(tmp_path / "missing")), alice)
    rng = worker_reads(release)
    assert rng.status == "unreadable" and rng.error
    api = client_for(bob).post(release_url(release, "signoffs/"), {"decision": "approve"}, format="json")
    assert_error(api, 409, "range_unreadable")
    with pytest.raises(TransitionError) as refused:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert refused.value.code == "range_unreadable" and rng.error in refused.value.details["reason"]
    assert Release.objects.get(pk=release.pk).status == "in_review"
    assert not AuditEvent.objects.filter(verb="signoff.approve").exists()
    # A rejection needs no range: refusing is always safe.
    workflow.sign_off(release, actor=bob, decision="reject", comment="fix the repository")


def test_moving_a_release_to_another_registered_repository_reopens_its_evidence(in_review, team, bob, dave):
    other = register(team, "https://git.example.com/payments/other.git")
    done_before = set(
        in_review.items.filter(satisfied_by__startswith="scan:", state="done").values_list("key", flat=True)
    )
    assert done_before
    workflow.update_release(in_review, actor=bob, data={"repository": other.location})
    in_review.refresh_from_db()
    assert in_review.repository == other and in_review.commit_range.repository == other
    assert not in_review.items.filter(satisfied_by__startswith="scan:", state="done").exists()
    assert not in_review.scans.filter(current=True).exists()
    assert in_review.commit_range.status == "pending"
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(in_review, actor=bob, decision="approve")
    assert refused.value.code == "changed_release"


@pytest.mark.parametrize(
    "location",
    ["/nonexistent/path", ".", "/proc/self/cwd", "https://evil.example.net/x.git", "http://127.0.0.1:8000/"],
)
def test_a_release_cannot_be_moved_to_a_location_that_is_not_registered(in_review, bob, location):
    with pytest.raises(InvalidInput) as refused:
        workflow.update_release(in_review, actor=bob, data={"repository": location})
    assert refused.value.code == "unknown_repository"
    in_review.refresh_from_db()
    assert in_review.status == "in_review" and not Contribution.objects.exists()


def test_another_teams_repository_is_unknown_here(in_review, bob, alice):
    from .helpers.factories import TeamFactory

    elsewhere = register(TeamFactory(slug="ledger", owner=alice), "https://git.example.com/ledger/core.git")
    for value in (elsewhere.location, elsewhere.pk, str(elsewhere.pk)):
        with pytest.raises(InvalidInput) as refused:
            workflow.update_release(in_review, actor=bob, data={"repository": value})
        assert refused.value.code == "unknown_repository"


# --- hotfix override -------------------------------------------------------------------------


def test_a_reviewer_may_override_an_unread_range_on_a_hotfix_with_a_reason(team, alice, bob, dave, tmp_path):
    hotfix = submitted(make_release(team, alice, kind="hotfix", repository=str(tmp_path / "missing")), alice)
    worker_reads(hotfix)
    with pytest.raises(SelfReviewError):
        workflow.override_range(hotfix, actor=alice, reason="incident")
    with pytest.raises(InvalidInput):
        workflow.override_range(hotfix, actor=dave, reason="  ")
    workflow.override_range(hotfix, actor=dave, reason="INC-42: the git host is down, the fix is one line")
    with pytest.raises(NotAllowed) as refused:  # the overrider does not also approve: not alone
        workflow.sign_off(hotfix, actor=dave, decision="approve")
    assert refused.value.code == "overrode_range"
    result = workflow.sign_off(hotfix, actor=bob, decision="approve")
    assert result.release.status == "approved"
    event = AuditEvent.objects.get(verb="range.overridden")
    assert event.actor == dave and "INC-42" in event.payload["reason"]
    assert (
        AuditEvent.objects.get(release=hotfix, verb="signoff.approve").payload["range_overridden_by"]
        == "dave"
    )
    assert gate_rules.gate_status(result.release, hotfix.commit).reasons == []


def test_a_standard_release_cannot_override_the_range(release, dave):
    with pytest.raises(TransitionError) as refused:
        workflow.override_range(release, actor=dave, reason="please")
    assert refused.value.code == "range_override_hotfix_only"


# --- older or diverged commits --------------------------------------------------------------


@pytest.fixture
def older_release(team, alice, dave, repo):
    """Production runs a newer commit than the one this release ships."""
    old = commit_as(repo["path"], "alice", message="old")
    new = commit_as(repo["path"], "alice", message="new")
    deploy_release(team, alice, dave, repository=repo["url"], commit=new)
    release = real_release(team, alice, repository=repo["url"], commit=old)
    return ready_for_review(release, alice)


def test_an_older_commit_needs_an_explicit_acknowledgement(older_release, bob):
    rng = older_release.commit_range
    assert rng.relation == "behind" and rng.behind_by == 1
    with pytest.raises(TransitionError) as refused:
        workflow.sign_off(older_release, actor=bob, decision="approve")
    assert (
        refused.value.code == "relation_unacknowledged" and "older than production" in refused.value.message
    )
    result = workflow.sign_off(older_release, actor=bob, decision="approve", acknowledge_relation="behind")
    assert result.signoff.acknowledged_relation == "behind"
    event = AuditEvent.objects.get(release=older_release, verb="signoff.approve")
    assert event.payload["acknowledged_relation"] == "behind"


def test_the_page_and_the_gate_say_so(client, older_release, bob):
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[older_release.pk])).content.decode()
    assert 'data-testid="relation-banner"' in html and 'data-testid="acknowledge-relation"' in html
    workflow.sign_off(older_release, actor=bob, decision="approve", acknowledge_relation="behind")
    body = client_for(bob).get(release_url(older_release, f"gate/?commit={older_release.commit}")).json()
    assert body["open"] is True and body["shipping"]["relation"] == "behind" and "older" in body["warning"]


def test_a_diverged_commit_is_named_as_such(team, alice, dave, repo):
    base = repo["base"]
    deployed = commit_as(repo["path"], "alice", message="on main")
    deploy_release(team, alice, dave, repository=repo["url"], commit=deployed)
    subprocess.run(["git", "checkout", "-q", "-b", "side", base], cwd=repo["path"], check=True)
    side = commit_as(repo["path"], "alice", message="on a side branch")
    rng = real_release(team, alice, repository=repo["url"], commit=side).commit_range
    assert (rng.relation, rng.ahead_by, rng.behind_by) == ("diverged", 1, 1)


def test_an_approval_is_doubted_when_production_moves_past_it(team, alice, bob, dave, repo):
    """Approved while ahead; another release deploys a newer commit; re-read: behind, unacknowledged."""
    first = commit_as(repo["path"], "alice", message="first")
    approved = ready_for_review(real_release(team, alice, repository=repo["url"], commit=first), alice)
    workflow.sign_off(approved, actor=bob, decision="approve")
    newer = commit_as(repo["path"], "alice", message="newer")
    deploy_release(team, alice, dave, repository=repo["url"], commit=newer)
    approved.refresh_from_db()
    assert gate_rules.gate_status(approved, approved.commit).reasons  # production moved: closed until re-read
    assert workflow.repoint_releases(approved.repository_id) == [approved.pk]
    assert worker_reads(approved).relation == "behind"
    approved.refresh_from_db()
    assert approved.status == "in_review"
    event = AuditEvent.objects.filter(release=approved, verb="range.read").last()
    assert event.payload["approvals_doubted"] == [{"reviewer": "bob", "code": "relation_unacknowledged"}]


# --- API and page ------------------------------------------------------------------------------


def test_api_names_the_reason_and_shows_what_ships(shipped_by_bob, bob, dave):
    error = assert_error(
        client_for(bob).post(
            release_url(shipped_by_bob, "signoffs/"), {"decision": "approve"}, format="json"
        ),
        403,
        "commit_author",
    )
    assert error["details"]["reasons"][0]["code"] == "commit_author"
    answer = client_for(bob).get(release_url(shipped_by_bob, "independence/")).json()
    assert answer["may_sign"] is False and answer["code"] == "commit_author"
    assert client_for(dave).get(release_url(shipped_by_bob, "independence/")).json()["may_sign"] is True
    shipping = client_for(dave).get(release_url(shipped_by_bob, "shipping/")).json()
    assert shipping["state"] == "ready" and shipping["relation"] == "ahead"
    assert len(shipping["commits"]) == 2 and shipping["commits"][1]["author_email"] == "bob@example.com"
    detail = client_for(bob).get(release_url(shipped_by_bob)).json()
    assert detail["abilities"]["approve"] == {
        "allowed": False,
        "code": "commit_author",
        "message": error["message"],
    }


def test_api_ticked_item_code(release, alice, dave):
    dave_ticks_one_item(release, alice, dave)
    response = client_for(dave).post(
        release_url(release, "signoffs/"), {"decision": "approve"}, format="json"
    )
    assert_error(response, 403, "ticked_item")


def test_page_says_which_reason_applies_and_shows_what_ships(client, shipped_by_bob, bob, dave):
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[shipped_by_bob.pk])).content.decode()
    assert "authored or committed 1 commit" in html and 'class="signoff-form"' not in html
    assert "Add refunds" in html and "api.py" in html
    client.force_login(dave)
    html = client.get(reverse("checklists:release", args=[shipped_by_bob.pk])).content.decode()
    assert 'class="signoff-form"' in html
    response = client.post(
        reverse("checklists:release_signoff", args=[shipped_by_bob.pk]),
        {"decision": "approve", "comment": ""},
    )
    assert response.status_code == 302


def test_page_says_plainly_when_what_ships_could_not_be_read_and_offers_a_reread(
    client, team, alice, bob, tmp_path
):
    release = submitted(make_release(team, alice, repository=str(tmp_path / "missing")), alice)
    rng = worker_reads(release)
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[release.pk])).content.decode()
    assert 'data-testid="shipping-unavailable"' in html and "Could not be read" in html
    assert 'name="decision" value="approve"' not in html and 'value="reject"' in html
    assert reverse("checklists:range_read", args=[release.pk]) in html
    response = client.post(reverse("checklists:range_read", args=[release.pk]))
    assert response.status_code == 302
    rng.refresh_from_db()
    assert rng.status == "pending" and rng.error == ""
    assert AuditEvent.objects.filter(release=release, verb="range.requested", actor=bob).exists()


# --- vouching for an item by skipping it or by writing the field it follows ----------------------

TESTS_ITEM = "correctness.tests-pass"


def test_a_reviewer_who_waived_a_failed_check_on_a_hotfix_may_not_approve_it(hotfix, alice, dave, bob):
    tick_manual_items(hotfix, alice)
    workflow.submit(hotfix, actor=alice)
    for run in ScanRun.objects.filter(release=hotfix, current=True, status=ScanRun.Status.QUEUED):
        workflow.claim_scan(run.pk)
        failed = run.scanner == "tests"
        workflow.record_scan_result(run.pk, status=ScanRun.Status.FAILED if failed else ScanRun.Status.PASSED)
    workflow.set_item_state(hotfix, TESTS_ITEM, actor=dave, state="waived", reason="flaky, fixing after")
    read_range_of(hotfix)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(hotfix, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and TESTS_ITEM in refused.value.message
    workflow.sign_off(hotfix, actor=bob, decision="approve")


def test_a_reviewer_who_marked_a_scan_item_not_applicable_may_not_approve(release, alice, dave):
    item = "security.credentials-from-env"
    workflow.set_item_state(release, item, actor=dave, state="not_applicable", reason="no config here")
    ready_for_review(release, alice)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and item in refused.value.message


@pytest.mark.parametrize("before", ["", "Redeploy the previous image."])
def test_a_reviewer_who_wrote_the_rollback_plan_may_not_approve(team, alice, dave, bob, before):
    release = make_release(team, alice, rollback_plan=before)
    workflow.update_release(release, actor=dave, data={"rollback_plan": "Nothing to roll back, trust me."})
    ready_for_review(release, alice)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and "deployment.rollback-plan" in refused.value.message
    workflow.sign_off(release, actor=bob, decision="approve")


def test_a_scan_that_ticks_an_item_makes_nobody_a_ticker(in_review, dave):
    result = workflow.sign_off(in_review, actor=dave, decision="approve")
    assert result.release.status == "approved"


PASSING_REPORT = b'<testsuite name="api" tests="3" failures="0" errors="0"><testcase name="a"/></testsuite>'


def test_a_reviewer_whose_test_report_ticked_the_tests_item_may_not_approve(in_review, dave, bob):
    workflow.store_test_report(in_review, actor=dave, content=PASSING_REPORT)
    pass_scans_in_review(in_review)  # the worker judges dave's report: the tests item is ticked by it
    assert in_review.items.get(key=TESTS_ITEM).state == "done"
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(in_review, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and TESTS_ITEM in refused.value.message
    workflow.sign_off(in_review, actor=bob, decision="approve")


def test_a_reviewer_without_an_email_cannot_be_told_from_a_commit_author(shipped_by_bob, bob, dave):
    # bob wrote a commit in what ships; with no email on his account nothing matched it.
    bob.email = ""
    bob.save(update_fields=["email"])
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(shipped_by_bob, actor=bob, decision="approve")
    assert refused.value.code == "commit_author" and "no email address" in refused.value.message
    assert workflow.sign_off(shipped_by_bob, actor=dave, decision="approve").release.status == "approved"
