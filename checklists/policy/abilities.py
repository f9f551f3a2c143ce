"""May this person do this to this release, and if not, why? One answer for every path.

Each `*_refusal` function returns the WorkflowError the workflow raises when it refuses the
action (None when it allows it). The workflow calls them under the release's lock; the
release page (its buttons), the API (`abilities` in a release's JSON) and the admin read the
same answers through `abilities_for`. So the page never offers a button the workflow refuses,
and the API never says "allowed" for an action that fails.

`Facts` reads what the rules need about one release once: its items, sign-offs, scans, what
ships (stored rows: checklists/policy/shipping.py), counting approvals, freeze windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AnonymousUser, User

from ..errors import (
    BlockedError,
    NotAllowed,
    NotAReviewerError,
    SelfReviewError,
    TransitionError,
    WorkflowError,
)
from ..models import ChecklistItem, Contribution, Membership, Release, ScanRun, SignOff
from . import approvals, followups, freeze, independence, permissions, shipping

Status = Release.Status
State = ChecklistItem.State
OPEN_STATUSES = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED)


class Facts:
    """What the rules need to know about one release, each read once and only if asked."""

    def __init__(self, release: Release, *, items=None, signoffs=None):
        self.release = release
        if items is not None:
            self.__dict__["items"] = items
        if signoffs is not None:
            self.__dict__["signoffs"] = signoffs
        self._roles: dict[int, str | None] = {}
        self._blockers: dict[bool, list[dict]] = {}

    def role(self, user: User | AnonymousUser) -> str | None:
        if not user.is_authenticated:
            return None
        if user.pk not in self._roles:
            if getattr(self.release, "fact_viewer_id", None) == user.pk:
                self._roles[user.pk] = self.release.fact_viewer_role  # read with the release
            else:
                self._roles[user.pk] = permissions.role_in(user, self.release.team_id)
        return self._roles[user.pk]

    @cached_property
    def reviewers(self) -> list[User]:
        """The people holding the reviewer role on the release's team, by username."""
        return list(
            User.objects.filter(
                memberships__team_id=self.release.team_id, memberships__role=Membership.Role.REVIEWER
            ).order_by("username")
        )

    @cached_property
    def reviewer_ids(self) -> set[int]:
        return {user.pk for user in self.reviewers}

    @cached_property
    def contributions(self) -> list[Contribution]:
        return list(Contribution.objects.filter(release=self.release))

    @cached_property
    def groups(self) -> list:
        """The team's required reviewer groups with their members."""
        if getattr(self.release, "fact_has_groups", None) is False:
            return []  # read with the release (ReleaseQuerySet.with_facts): it has none
        return approvals.required_groups(self.release)

    @cached_property
    def items(self) -> list[ChecklistItem]:
        return list(self.release.items.all())

    @cached_property
    def signoffs(self) -> list[SignOff]:
        return list(self.release.signoffs.all())

    @cached_property
    def scan_statuses(self) -> dict[str, str]:
        return dict(
            self.release.scans.filter(current=True, commit=self.release.commit).values_list(
                "scanner", "status"
            )
        )

    @cached_property
    def production(self) -> Release | None:
        release = self.release
        if hasattr(release, "fact_production_id"):  # read with the release (ReleaseQuerySet.with_facts)
            if release.fact_production_id is None:
                return None
            return Release(pk=release.fact_production_id, commit=release.fact_production_commit)
        return shipping.production_release(release)

    @cached_property
    def shipping(self) -> shipping.Shipping:
        return shipping.shipping(self.release, production=self.production)

    @cached_property
    def expired(self) -> list[SignOff]:
        if "signoffs" in self.__dict__:
            return approvals.expired_approvals(self.release, signoffs=self.signoffs)
        return approvals.expired_approvals(self.release)

    @cached_property
    def counting(self) -> list[SignOff]:
        if "signoffs" in self.__dict__:  # read already: the same rule, applied without a query
            return approvals.counting_approvals(
                self.release, signoffs=self.signoffs, reviewer_ids=self.reviewer_ids
            )
        return approvals.counting_approvals(self.release)

    @cached_property
    def shortfall(self) -> list[str]:
        counting = self.counting
        missing = approvals.shortfall(self.release, counting=counting, groups=self.groups, expired=[])
        if missing:  # expired approvals are named only when something is missing
            missing = approvals.shortfall(
                self.release, counting=counting, groups=self.groups, expired=self.expired
            )
        return missing

    @cached_property
    def freeze_windows(self) -> list:
        return freeze.blocking_windows(self.release)

    def blockers(self, *, for_submit: bool) -> list[dict]:
        """The required items in the way of a submit (for_submit) or of an approval, computed once."""
        cached = self._blockers.get(for_submit)
        if cached is None:
            cached = self._blockers[for_submit] = [
                b
                for item in self.items
                if (
                    b := item_blocker(
                        self.release, item, self.scan_statuses.get(item.argument), for_submit=for_submit
                    )
                )
            ]
        return cached


# --- blockers (what keeps a release from being submitted or approved) -----------------


def _blocker(item: ChecklistItem, why: str) -> dict:
    return {"key": item.key, "title": item.title, "state": item.state, "why": why}


def item_blocker(release: Release, item: ChecklistItem, scan_status: str | None, *, for_submit: bool):
    """Why this required item blocks the transition, or None."""
    if not item.required or item.is_signoff:
        return None
    if item.state == State.DONE or (item.state == State.NOT_APPLICABLE and item.reason):
        return None
    if item.state == State.WAIVED:
        if release.kind == Release.Kind.HOTFIX and item.waivable and item.reason:
            return None
        return _blocker(item, "waived items are allowed only on hotfix releases, for waivable items")
    if item.is_scan and item.state == State.OPEN:
        if for_submit and scan_status in (None, ScanRun.Status.QUEUED, ScanRun.Status.RUNNING):
            return None  # submit queues the scan; approval waits for its result
        if scan_status in (ScanRun.Status.QUEUED, ScanRun.Status.RUNNING):
            return _blocker(item, "the scan has not finished")
        if scan_status == ScanRun.Status.ERROR:
            return _blocker(item, "the scan ended in error; re-run it")
        return _blocker(item, "the scan has not run on this commit")
    if item.state == State.FAILED:
        return _blocker(item, "the automated check failed; fix and re-run it, or waive it on a hotfix")
    if item.is_field:
        return _blocker(item, f"fill in {item.argument.replace('_', ' ')}")
    return _blocker(item, "not done")


# --- refusals: the errors the workflow raises -------------------------------------------


def member_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if facts.role(user) is None:
        return NotAllowed(f"You are not a member of team {release.team.slug}; you may read but not change.")
    return None


def change_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    """Edit fields, tick items, queue scans, upload reports, read what ships again."""
    if not release.is_open_for_changes:
        return TransitionError(
            f"The release is {release.get_status_display().lower()}; it can no longer change."
        )
    return member_refusal(user, release, facts)


def submit_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if refusal := member_refusal(user, release, facts):
        return refusal
    if release.status != Status.DRAFT:
        return TransitionError(f"Only a draft can be submitted; this release is {release.status}.")
    blockers = facts.blockers(for_submit=True)
    if blockers:
        return BlockedError(f"{len(blockers)} required item(s) block the submit.", details=blockers)
    if release.kind == Release.Kind.STANDARD:
        debt = list(followups.open_for_team(release.team_id).order_by("due_date", "id"))
        if debt:
            names = "; ".join(f"{f.item_title} (hotfix #{f.release_id}, owner {f.owner})" for f in debt[:10])
            return BlockedError(
                f"Team {release.team.slug} has {len(debt)} open follow-up(s) from hotfix waivers; "
                f"close them with evidence first: {names}.",
                details=[followups.describe(f) for f in debt],
                code="open_followups",
            )
    return None


def reviewer_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    """The author never reviews; only a reviewer of the team does, independent of the content."""
    if user.pk == release.author_id:
        return SelfReviewError("You are the author of this release; someone else must review it.")
    if facts.role(user) != Membership.Role.REVIEWER:
        return NotAReviewerError(f"You are not a reviewer of team {release.team.slug}.")
    reasons = independence.refusals(user, release, facts.shipping, facts.items, facts.contributions)
    if reasons:
        return NotAllowed(reasons[0]["message"], code=reasons[0]["code"], details={"reasons": reasons})
    return None


def range_refusal(release: Release, facts: Facts) -> WorkflowError | None:
    """An approval (and a deploy) needs what ships read, or a reviewer's override on a hotfix."""
    found = facts.shipping
    if found.ready or found.override is not None:
        return None
    hint = (
        " A reviewer may override this on a hotfix, with a reason."
        if release.kind == Release.Kind.HOTFIX
        else ""
    )
    if found.state == "unreadable":
        return TransitionError(
            f"What ships could not be read, so reviewer independence cannot be checked: {found.error} "
            f"Fix the repository or its credentials and read it again.{hint}",
            code="range_unreadable",
            details={"reason": found.error},
        )
    return TransitionError(f"{found.error}{hint}", code="range_pending")


def signoff_refusal(
    user: User, release: Release, facts: Facts, *, decision: str = SignOff.Decision.APPROVE
) -> WorkflowError | None:
    """Why `user` may not approve (or reject) `release` now; None if they may."""
    if refusal := reviewer_refusal(user, release, facts):
        return refusal
    expired = {s.pk for s in facts.expired}
    # An approved release whose approvals no longer suffice (one expired, the team now requires
    # more, a required group is unfilled) takes another approval: that is its way out.
    renewing = release.status == Status.APPROVED and bool(expired or facts.shortfall)
    if release.status != Status.IN_REVIEW and not renewing:
        return TransitionError(f"Only a release in review can be signed off; this one is {release.status}.")
    if any(s.reviewer_id == user.pk and not s.stale and s.pk not in expired for s in facts.signoffs):
        return TransitionError("You already signed off this state of the release.", code="already_signed_off")
    if decision == SignOff.Decision.APPROVE:
        blockers = facts.blockers(for_submit=False)
        if blockers:
            return BlockedError(f"{len(blockers)} required item(s) block the approval.", details=blockers)
        if refusal := range_refusal(release, facts):
            return refusal
        found = facts.shipping
        overridden_by_me = found.override is not None and found.override.reviewer_id == user.pk
        if overridden_by_me and not found.ready and not release.team.allow_commit_authors_to_review:
            # Who wrote what ships could not be checked: the one who let that pass may not
            # also be the one who approves, or a reviewer could approve his own code alone.
            return NotAllowed(
                "You overrode the unread range of this hotfix; because who wrote what ships could "
                "not be checked, another reviewer must approve it.",
                code="overrode_range",
            )
    return None


def relation_refusal(release: Release, facts: Facts, acknowledged: str) -> WorkflowError | None:
    """An approval of an older or diverged commit must say it saw that (`acknowledged`)."""
    found = facts.shipping
    if found.older_or_diverged and acknowledged != found.relation:
        return TransitionError(
            found.relation_sentence() + " Approve it only if that is intended, and say so "
            f"(acknowledge the relation {found.relation!r}).",
            code="relation_unacknowledged",
            details={
                "relation": found.relation,
                "ahead_by": found.range.ahead_by,
                "behind_by": found.range.behind_by,
            },
        )
    return None


def deploy_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if refusal := member_refusal(user, release, facts):
        return refusal
    if release.status != Status.APPROVED:
        return TransitionError(f"Only an approved release can be deployed; this one is {release.status}.")
    if facts.shortfall:
        return TransitionError(
            "The approvals of this release are no longer enough: "
            + " ".join(facts.shortfall)
            + " A reviewer of the team may add an approval; then it can be deployed.",
            details={"reasons": facts.shortfall},
        )
    for reason in range_reasons(release, facts):
        return TransitionError(reason, code="range")
    if windows := facts.freeze_windows:
        hint = (
            " A reviewer may override it for this hotfix, with a reason."
            if release.kind == Release.Kind.HOTFIX
            else " Only a hotfix may pass a freeze, with a reviewer's override."
        )
        return TransitionError(
            freeze.describe(windows[0]) + "." + hint,
            code="freeze",
            details={"windows": [w.as_dict() for w in windows]},
        )
    return None


def range_reasons(release: Release, facts: Facts) -> list[str]:
    """Why what ships keeps an approved release from deploying (the gate and deploy say these)."""
    if refusal := range_refusal(release, facts):
        return [refusal.message]
    found = facts.shipping
    if found.older_or_diverged:
        unacknowledged = [s for s in facts.counting if s.acknowledged_relation != found.relation]
        if unacknowledged:
            return [found.relation_sentence() + " No approval acknowledged it; it needs review again."]
    return []


def rollback_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if refusal := member_refusal(user, release, facts):
        return refusal
    if release.status != Status.DEPLOYED:
        return TransitionError(f"Only a deployed release can be rolled back; this one is {release.status}.")
    return None


def cancel_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if refusal := member_refusal(user, release, facts):
        return refusal
    if release.status not in (Status.DRAFT, Status.IN_REVIEW):
        return TransitionError(
            f"Only a draft or a release in review can be cancelled; this one is {release.status}."
        )
    return None


def read_again_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if refusal := change_refusal(user, release, facts):
        return refusal
    if facts.shipping.ready:
        return TransitionError("What ships has been read already; nothing to read again.", code="range_ready")
    return None


def _override_refusal(user: User, release: Release, facts: Facts, what: str) -> WorkflowError | None:
    if user.pk == release.author_id:
        return SelfReviewError(f"You are the author of this hotfix; a reviewer must override the {what}.")
    if facts.role(user) != Membership.Role.REVIEWER:
        return NotAReviewerError(f"Only a reviewer of team {release.team.slug} may override the {what}.")
    return None


def override_freeze_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if release.kind != Release.Kind.HOTFIX:
        return TransitionError("Only a hotfix may pass a deploy freeze.", code="freeze")
    if release.status in (Status.DEPLOYED, Status.ROLLED_BACK, Status.CANCELLED):
        return TransitionError(f"The release is {release.get_status_display().lower()}; nothing to override.")
    if refusal := _override_refusal(user, release, facts, "freeze"):
        return refusal
    if not facts.freeze_windows:
        return TransitionError("No deploy freeze blocks this release now.", code="no_freeze")
    return None


def override_range_refusal(user: User, release: Release, facts: Facts) -> WorkflowError | None:
    if not release.is_open_for_changes:
        return TransitionError(
            f"The release is {release.get_status_display().lower()}; it can no longer change."
        )
    if release.kind != Release.Kind.HOTFIX:
        return TransitionError(
            "Only a hotfix may be approved without reading what ships; wait for the read or fix the repository.",
            code="range_override_hotfix_only",
        )
    if refusal := _override_refusal(user, release, facts, "unread range"):
        return refusal
    if facts.shipping.ready:
        return TransitionError("What ships has been read; there is nothing to override.", code="range_ready")
    if facts.shipping.override is not None:
        return TransitionError("This range was overridden already.", code="already_overridden")
    return None


def item_actions(release: Release, item: ChecklistItem) -> set[str]:
    """Which buttons an item's row offers to someone who may tick (set_item_state's rules)."""
    actions: set[str] = set()
    if item.is_signoff:
        return actions
    if item.is_manual and item.state in (State.OPEN, State.DONE):
        actions.add("tick")
    if item.state in (State.DONE, State.WAIVED, State.NOT_APPLICABLE) and item.is_manual:
        actions.add("reopen")
    if item.state in (State.WAIVED, State.NOT_APPLICABLE) and not item.is_manual:
        actions.add("reopen")
    if item.waivable and item.state in (State.OPEN, State.DONE):
        actions.add("not_applicable")
    if item.waivable and release.kind == Release.Kind.HOTFIX and item.state in (State.OPEN, State.FAILED):
        actions.add("waive")
    return actions


# --- the read model -------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    allowed: bool
    code: str = ""
    message: str = ""

    @classmethod
    def of(cls, refusal: WorkflowError | None) -> Answer:
        if refusal is None:
            return cls(True)
        return cls(False, refusal.code, refusal.message)

    def as_dict(self) -> dict:
        return {"allowed": self.allowed, "code": self.code or None, "message": self.message or None}


ACTIONS = (
    "edit",
    "tick",
    "request_scans",
    "upload_report",
    "submit",
    "approve",
    "reject",
    "deploy",
    "rollback",
    "cancel",
    "read_range_again",
    "override_range",
    "override_freeze",
)


@dataclass
class Abilities:
    """Each action's answer for one user on one release, and what an approval must acknowledge."""

    answers: dict[str, Answer]
    acknowledge: str = ""  # the relation an approval must acknowledge ("behind", "diverged"), if any

    def __getitem__(self, action: str) -> Answer:
        return self.answers[action]

    def may(self, action: str) -> bool:
        return self.answers[action].allowed

    @property
    def may_sign(self) -> bool:
        return self.may("approve") or self.may("reject")

    def as_dict(self) -> dict:
        return {
            **{action: answer.as_dict() for action, answer in self.answers.items()},
            "acknowledge_relation": self.acknowledge or None,
        }


def abilities_for(user: User | AnonymousUser, release: Release, facts: Facts | None = None) -> Abilities:
    """What `user` may do to `release` now, each with the reason when not."""
    facts = facts or Facts(release)
    if not user.is_authenticated:
        nobody = Answer(False, "not_authenticated", "Sign in first.")
        return Abilities({action: nobody for action in ACTIONS})
    change = change_refusal(user, release, facts)
    answers = {
        "edit": Answer.of(change),
        "tick": Answer.of(change),
        "request_scans": Answer.of(change),
        "upload_report": Answer.of(change),
        "submit": Answer.of(submit_refusal(user, release, facts)),
        "approve": Answer.of(signoff_refusal(user, release, facts, decision=SignOff.Decision.APPROVE)),
        "reject": Answer.of(signoff_refusal(user, release, facts, decision=SignOff.Decision.REJECT)),
        "deploy": Answer.of(deploy_refusal(user, release, facts)),
        "rollback": Answer.of(rollback_refusal(user, release, facts)),
        "cancel": Answer.of(cancel_refusal(user, release, facts)),
        "read_range_again": Answer.of(read_again_refusal(user, release, facts)),
        "override_range": Answer.of(override_range_refusal(user, release, facts)),
        "override_freeze": Answer.of(override_freeze_refusal(user, release, facts)),
    }
    acknowledge = facts.shipping.relation if facts.shipping.older_or_diverged else ""
    return Abilities(answers, acknowledge)
