"""A release's steps through the workflow, taken as people and workers take them.

The git side of reading what ships is tested on real repositories (tests/test_repo.py); here a
worker's result is recorded through the workflow, as the task records it.
"""

from __future__ import annotations

from checklists import workflow
from checklists.git.commit_range import RangeRead
from checklists.models import ChecklistItem, CommitRange, Release, ScanRun

from .factories import sha


def tick_manual_items(release, actor):
    for item in release.items.filter(satisfied_by="manual"):
        workflow.set_item_state(release, item.key, actor=actor, state="done", evidence="see CI run 42")


def ready_for_review(release, actor):
    """Ticked, submitted, scans passed and what ships read (by a worker, as the tasks would)."""
    tick_manual_items(release, actor)
    workflow.submit(release, actor=actor)
    pass_scans_in_review(release)
    read_range(release)
    release.refresh_from_db()
    return release


def pass_scans_in_review(release):
    for run in ScanRun.objects.filter(release=release, current=True, status=ScanRun.Status.QUEUED):
        workflow.claim_scan(run.pk)
        workflow.record_scan_result(run.pk, status=ScanRun.Status.PASSED)


def finish_queued_scans(release: Release) -> int:
    """Record a pass for every queued scan, as a worker would (the edge of the world for a UI test)."""
    runs = list(ScanRun.objects.filter(release=release, current=True, status=ScanRun.Status.QUEUED))
    for run in runs:
        workflow.claim_scan(run.pk)
        workflow.record_scan_result(run.pk, status=ScanRun.Status.PASSED, summary={"files": 12})
    return len(runs)


def item(release, key) -> ChecklistItem:
    return release.items.get(key=key)


def commit(author: str = "alice", *, sha_: str | None = None, committer: str | None = None) -> dict:
    """A commit as a worker stores it, authored (and committed) by `author`@example.com."""
    committer = committer or author
    return {
        "sha": sha_ or sha(),
        "author_name": author,
        "author_email": f"{author}@example.com",
        "committer_name": committer,
        "committer_email": f"{committer}@example.com",
        "date": "2026-11-01T10:00:00+00:00",
        "subject": f"work by {author}",
    }


def read_range(release, *, commits=None, relation=None, ahead_by=None, behind_by=None, error=""):
    """Record what a worker read for the release's range, through the workflow, as the task does.

    The git side (checklists/git/commit_range.py) is tested on real repositories; here the stored
    result is given: by default one commit authored by the release's author, ahead of production.
    """
    release.refresh_from_db()
    if release.commit_range is None or release.commit_range.status != CommitRange.Status.PENDING:
        workflow.repoint_release(release.pk)
        release.refresh_from_db()
    rng = release.commit_range
    if rng.status != CommitRange.Status.PENDING:
        return rng
    workflow.claim_range_read(rng.pk, stale_after=0)
    if error:
        return workflow.record_range_read(rng.pk, error=error)
    commits = [commit(release.author.username, sha_=release.commit)] if commits is None else commits
    relation = relation or ("ahead" if rng.base else "new")
    read = RangeRead(
        relation=relation,
        ahead_by=len(commits) if ahead_by is None else ahead_by,
        behind_by=0 if behind_by is None else behind_by,
        commits=commits,
        files=[{"path": "app/refunds.py", "additions": 3, "deletions": 1, "binary": False}],
    )
    result = workflow.record_range_read(rng.pk, read=read)
    release.refresh_from_db()
    return result


def grow(release, reviewers, n):
    """Add n checklist items and about 2n audit events, scans and sign-offs, keeping the release in review."""
    author = release.author
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            release=release,
            key=f"extra.item-{i}",
            category="handoff",
            title=f"Extra {i}",
            satisfied_by="manual",
            required=False,
            order=1000 + i,
        )
        for i in range(n)
    )
    for i in range(n):
        workflow.set_item_state(release, f"extra.item-{i}", actor=author, state="done", evidence=f"run {i}")
    release.team.required_approvals = 3
    release.team.save()
    for reviewer in reviewers:
        workflow.sign_off(release, actor=reviewer, decision="approve", comment="ok")
    workflow.set_item_state(release, "extra.item-0", actor=author, state="open")  # approvals go stale
    workflow.request_scans(release, actor=author, force=True)


def drain(rounds: int = 10) -> None:
    """Do what the workers would: answer waiting deployments, send every pending delivery."""
    from checklists.integrations import deliveries
    from checklists.models.integrations import DeploymentCheck, IntegrationDelivery

    for _ in range(rounds):
        waiting = DeploymentCheck.objects.filter(state="waiting", release__isnull=False)
        for release_id in set(waiting.values_list("release_id", flat=True)):
            workflow.answer_deployments(release_id)
        pending = list(
            IntegrationDelivery.objects.filter(status="pending").order_by("id").values_list("pk", flat=True)
        )
        if not pending:
            return
        for pk in pending:
            deliveries.deliver(pk)
