"""What a release says about one of its commits: the commit status GitHub and GitLab show.

`releasegate/checklist` follows the release: pending while the checklist is worked on or
reviewed, success once approved with the gate open (or deployed), failure when rejected or
rolled back, error when cancelled or when the release no longer ships that commit. While an
approved release's gate is shut (a freeze, approvals that no longer count), it says pending
with the gate's first reason (checklists/policy/gate.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Release, SignOff
from ..policy import gate

Status = Release.Status
SUPERSEDED = "superseded"
STATUS_CONTEXT_NAME = "releasegate/checklist"
GITLAB_STATES = {"pending": "pending", "success": "success", "failure": "failed", "error": "canceled"}


@dataclass(frozen=True)
class CommitState:
    state: str  # pending | success | failure | error (GitHub's words)
    description: str
    superseded: bool = False

    def short(self, limit: int = 140) -> str:
        return self.description if len(self.description) <= limit else self.description[: limit - 1] + "…"


def _rejection(release: Release) -> SignOff | None:
    return (
        release.signoffs.filter(stale=False, decision=SignOff.Decision.REJECT)
        .select_related("reviewer")
        .order_by("-id")
        .first()
    )


def commit_state(release: Release, sha: str) -> CommitState:
    if sha != release.commit:
        return CommitState(
            "error",
            f"Release #{release.pk} now ships {release.commit[:12]}, not this commit.",
            superseded=True,
        )
    status = release.status
    if status == Status.DRAFT:
        if rejection := _rejection(release):
            return CommitState(
                "failure", f"Rejected by {rejection.reviewer.get_username()}: {rejection.comment}"
            )
        return CommitState("pending", "The checklist is being worked on (draft).")
    if status == Status.IN_REVIEW:
        return CommitState("pending", "Waiting for review.")
    if status == Status.APPROVED:
        reasons = gate.gate_status(release, sha).reasons
        if reasons:
            return CommitState("pending", f"Approved, but the gate is shut: {reasons[0]}")
        return CommitState("success", "Approved: the gate is open for this commit.")
    if status == Status.DEPLOYED:
        return CommitState("success", f"Approved and deployed ({release.version_after or 'no version'}).")
    if status == Status.ROLLED_BACK:
        return CommitState("failure", f"Rolled back: {release.rollback_reason}")
    return CommitState("error", "The release was cancelled.")
