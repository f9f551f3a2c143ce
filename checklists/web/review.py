"""What a reviewer needs to decide, read from stored rows: the review page's read model.

The answers come from checklists/policy/abilities.py (what blocks, who may approve and why not) and
checklists/policy/approvals.py (counting approvals, required groups, what changed since a sign-off);
this module only arranges them for a person: the way out of the current state in one
sentence, each reviewer's answer, required groups nobody can fill, and readable changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import ChecklistItem, Release, SignOff
from ..policy import approvals, independence
from ..policy.abilities import Abilities, Facts
from .textdiff import Segment, inline_diff

Status = Release.Status
FIELD_LABELS = {
    "title": "Title",
    "commit": "Commit",
    "version_before": "Version before",
    "version_after": "Version after",
    "description": "Description",
    "rollback_plan": "Rollback plan",
    "deployment_steps": "Deployment steps",
    "known_limitations": "Known limitations",
}
STATE_LABELS = dict(ChecklistItem.State.choices)


@dataclass
class Change:
    """One readable difference: a field or an item's state, evidence or reason."""

    label: str
    kind: str  # field | item
    state: tuple[str, str] | None = None  # (from, to) labels of an item's state
    texts: list[tuple[str, list[Segment]]] = field(default_factory=list)  # (what, segments)


def readable_changes(raw: list[dict]) -> list[Change]:
    """approvals.changes_since(...) as a person reads it: labels, states in words, inline diffs."""
    result = []
    for change in raw:
        if change["what"] == "field":
            result.append(
                Change(
                    label=FIELD_LABELS.get(change["name"], change["name"]),
                    kind="field",
                    texts=[("", inline_diff(change["from"], change["to"]))],
                )
            )
            continue
        diff = change["changes"]
        item = Change(label=change["title"], kind="item")
        if "state" in diff:
            before, after = diff["state"]["from"], diff["state"]["to"]
            item.state = (
                STATE_LABELS.get(before, "not on the checklist") if before else "not on the checklist",
                STATE_LABELS.get(after, "removed") if after else "removed",
            )
        for attr in ("evidence", "reason"):
            if attr in diff:
                item.texts.append((attr, inline_diff(diff[attr]["from"], diff[attr]["to"])))
        result.append(item)
    return result


def last_decision(signoffs: list[SignOff]) -> SignOff | None:
    """The latest approval with a snapshot (else the latest rejection): what changed is shown since it."""
    with_snapshot = [s for s in signoffs if _snapshot(s) is not None]
    for decision in (SignOff.Decision.APPROVE, SignOff.Decision.REJECT):
        found = [s for s in with_snapshot if s.decision == decision]
        if found:
            return max(found, key=lambda s: (s.created_at, s.pk))
    return None


def _snapshot(signoff: SignOff) -> dict | None:
    try:
        return signoff.snapshot.state
    except SignOff.snapshot.RelatedObjectDoesNotExist:
        return None  # given before snapshots were kept


def changes_since(signoff: SignOff | None, release: Release, items: list[ChecklistItem]) -> list[Change]:
    if signoff is None:
        return []
    return readable_changes(approvals.changes_since(_snapshot(signoff), release, items))


@dataclass(frozen=True)
class Reviewer:
    username: str
    verdict: str  # approved | rejected | may_approve | may_not
    why: str = ""


def reviewers(release: Release, facts: Facts) -> list[Reviewer]:
    """Every reviewer of the team with their answer: approved, may approve, or why they may not.

    The reasons are checklists/policy/independence.py's (the same the workflow refuses with), read in
    a fixed number of queries for the whole team.
    """
    people = facts.reviewers
    contributions = facts.contributions
    current = {s.reviewer_id: s.decision for s in facts.signoffs if not s.stale}
    expired = {s.reviewer_id for s in facts.expired}
    rows = []
    for user in people:
        if user.pk == release.author_id:
            rows.append(Reviewer(user.get_username(), "may_not", "the author of this release"))
        elif user.pk in current and user.pk not in expired:
            verdict = "approved" if current[user.pk] == SignOff.Decision.APPROVE else "rejected"
            rows.append(Reviewer(user.get_username(), verdict))
        else:
            reasons = independence.refusals(user, release, facts.shipping, facts.items, contributions)
            if reasons:
                rows.append(Reviewer(user.get_username(), "may_not", reasons[0]["message"]))
            else:
                rows.append(Reviewer(user.get_username(), "may_approve"))
    return rows


def group_rows(release: Release, facts: Facts) -> list[dict]:
    """Required groups: who fills each now, who could, and a warning when nobody can."""
    candidates = approvals.group_candidates(release, groups=facts.groups, reviewer_ids=facts.reviewer_ids)
    if not candidates:
        return []
    counting = facts.counting
    assigned, _ = approvals.group_assignment(release, {s.reviewer_id for s in counting}, groups=facts.groups)
    names = {s.reviewer_id: s.reviewer.get_username() for s in counting}
    return [
        {
            "name": group["name"],
            "filled_by": names.get(assigned.get(group["name"])),
            "candidates": group["candidates"],
            "unfillable": not group["candidates"] and group["name"] not in assigned,
        }
        for group in candidates
    ]


@dataclass(frozen=True)
class Situation:
    """Where the release stands and the way out, in one sentence, with a Bootstrap tone."""

    tone: str  # success | warning | danger | info | secondary
    headline: str
    way_out: str = ""


def situation(release: Release, facts: Facts, may: Abilities, blockers: list[dict]) -> Situation:
    """The release's state as a sentence that says what happens next and who does it."""
    required = release.team.required_approvals
    if release.status == Status.DRAFT:
        if blockers:
            return Situation(
                "secondary",
                f"Draft: {len(blockers)} required item(s) block the submit.",
                "The author works through them, then submits it for review.",
            )
        return Situation("secondary", "Draft, ready to submit.", "The author submits it for review.")
    if release.status == Status.IN_REVIEW:
        if blockers:
            return Situation(
                "warning",
                f"In review: {len(blockers)} required item(s) block approval.",
                "Approval waits until they are satisfied; the author or the scans fix them.",
            )
        approve = may["approve"]
        if approve.code in ("range_pending", "range_unreadable"):
            return Situation("warning", "In review: what ships is not read yet.", approve.message)
        missing = max(0, required - len(facts.counting))
        if missing:
            return Situation(
                "info",
                f"In review: {len(facts.counting)} of {required} approval(s).",
                f"It needs {missing} more approval(s) from a reviewer of team {release.team.slug} "
                "who may approve it (listed below).",
            )
        return Situation("info", "In review.", " ".join(facts.shortfall))
    if release.status == Status.APPROVED:
        if facts.shortfall:
            return Situation(
                "warning",
                "Approved, but its approvals are no longer enough.",
                " ".join(facts.shortfall)
                + " A reviewer of the team may add an approval; then it can be deployed.",
            )
        if facts.freeze_windows:
            return Situation("danger", "Approved, but a deploy freeze holds it.", may["deploy"].message)
        deploy = may["deploy"]
        if not deploy.allowed and deploy.code == "range":
            return Situation("warning", "Approved, but what ships changed.", deploy.message)
        return Situation(
            "success", "Approved: it may be deployed.", "A member of the team records the deployment."
        )
    if release.status == Status.DEPLOYED:
        return Situation("success", "Deployed.", "If it misbehaves, a member of the team records a rollback.")
    if release.status == Status.ROLLED_BACK:
        return Situation("danger", "Rolled back.", release.rollback_reason)
    return Situation("secondary", "Cancelled.", "Nothing more happens to it.")
