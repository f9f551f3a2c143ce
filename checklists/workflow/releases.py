"""A release's life: create, edit, tick items, submit, sign off, deploy, roll back, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from .. import approvals, followups, notifications, permissions, webhooks
from ..errors import BlockedError, InvalidInput, NotAllowed, NotFound, TransitionError
from ..models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    VERSION_MAX,
    ChecklistItem,
    ChecklistTemplate,
    Release,
    SignOff,
    SignOffSnapshot,
    Team,
    checklist_digest,
)
from .base import (
    State,
    Status,
    _audit,
    _bump,
    _clean_text,
    _field_state,
    _lock,
    _make_approvals_stale,
    _require_member,
    _require_open,
    _scan_statuses,
    blocking_items,
    clean_commit,
    clean_release_data,
    count_current_approvals,
)
from .gate import _check_freeze, independence_warning
from .scans import _create_scan_runs
from .transactions import write_transaction

# --- releases ----------------------------------------------------------------


@write_transaction
def create_release(*, actor: User, team: Team | str, data: dict) -> Release:
    """Open a draft release; its checklist is a copy of the team's template."""
    if isinstance(team, str):
        team_obj = Team.objects.filter(slug=team).first()
        if team_obj is None:
            raise InvalidInput(f"Unknown team {team!r}.", details={"team": [f"Unknown team {team!r}."]})
        team = team_obj
    if permissions.role_in(actor, team.pk) is None:
        raise NotAllowed(f"You are not a member of team {team.slug}.")
    cleaned = clean_release_data(data)
    template = team.template or ChecklistTemplate.default()
    release = Release.objects.create(team=team, template=template, author=actor, **cleaned)
    now = timezone.now()
    items = []
    for spec in template.items.all():
        item = ChecklistItem(
            release=release,
            key=spec.key,
            category=spec.category,
            title=spec.title,
            help=spec.help,
            order=spec.order,
            required=spec.required,
            waivable=spec.waivable,
            satisfied_by=spec.satisfied_by,
        )
        if item.kind == "field" and release.field_value(item.argument):
            item.state, item.set_at = State.DONE, now
        items.append(item)
    ChecklistItem.objects.bulk_create(items)
    _audit(
        release, actor, "release.created", kind=release.kind, commit=release.commit, template=str(template)
    )
    return release


@write_transaction
def update_release(release: Release | int, *, actor: User, data: dict) -> Release:
    """Edit a release's fields. Any change after a sign-off makes it stale."""
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    if "kind" in data and data["kind"] != release.kind:
        raise InvalidInput(
            "The kind of a release is fixed when it is created.", details={"kind": ["Read-only."]}
        )
    cleaned = clean_release_data({k: v for k, v in data.items() if k != "kind"}, partial=True)
    changed = {name: value for name, value in cleaned.items() if getattr(release, name) != value}
    if not changed:
        return release
    old_commit = release.commit
    for name, value in changed.items():
        setattr(release, name, value)
    payload: dict[str, Any] = {"fields": sorted(changed)}
    if "commit" in changed:
        payload["commit"] = {"from": old_commit, "to": release.commit}
        reopened = release.items.filter(satisfied_by__startswith="scan:").exclude(state=State.OPEN)
        payload["reopened_scan_items"] = sorted(reopened.values_list("key", flat=True))
        reopened.update(
            state=State.OPEN, scan=None, evidence="", evidence_commit="", reason="", set_by=None, set_at=None
        )
    now = timezone.now()
    for item in release.items.filter(satisfied_by__startswith="field:"):
        if item.state in (State.WAIVED, State.NOT_APPLICABLE):
            continue
        derived = _field_state(release, item)
        if derived != item.state:
            item.state, item.set_by, item.set_at = derived, actor, now
            item.save(update_fields=["state", "set_by", "set_at"])
    payload.update(_make_approvals_stale(release))
    _bump(release, **changed, status=release.status, approved_at=release.approved_at)
    _audit(release, actor, "release.updated", **payload)
    return release


@write_transaction
def set_item_state(
    release: Release | int,
    key: str,
    *,
    actor: User,
    state: str,
    evidence: str | None = None,
    reason: str | None = None,
) -> ChecklistItem:
    """Tick, re-open, skip (not applicable) or waive one checklist item."""
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    item = release.items.select_for_update(of=("self",)).select_related("set_by").filter(key=key).first()
    if item is None:
        raise NotFound(f"The checklist has no item {key!r}.", code="unknown_item")
    if state not in State.values:
        raise InvalidInput(
            f"Unknown state {state!r}.", details={"state": [f"One of {', '.join(State.values)}."]}
        )
    errors: dict[str, list[str]] = {}
    evidence = (
        item.evidence if evidence is None else _clean_text("evidence", evidence, errors, limit=EVIDENCE_MAX)
    )
    reason = item.reason if reason is None else _clean_text("reason", reason, errors, limit=EVIDENCE_MAX)
    if errors:
        raise InvalidInput("The item change has invalid fields.", details=errors)
    _check_item_change(release, item, state, reason)

    if state == State.OPEN and item.kind == "field":
        state = _field_state(release, item)
    if state in (State.DONE, State.OPEN):
        reason = ""
    if (item.state, item.evidence, item.reason) == (state, evidence, reason):
        return item  # the same change twice is a no-op
    previous = item.state
    item.state, item.evidence, item.reason = state, evidence, reason
    item.set_by, item.set_at = actor, timezone.now()
    item.save(update_fields=["state", "evidence", "reason", "set_by", "set_at"])
    payload = {"key": key, "from": previous, "to": state}
    if reason:
        payload["reason"] = reason
    if state == State.WAIVED and release.status != Status.DRAFT:
        opened = followups.open_for_release(release, [item])
        if opened:
            payload["followups_opened"] = [f.item_key for f in opened]
    payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, actor, "item.updated", **payload)
    return item


def _check_item_change(release: Release, item: ChecklistItem, state: str, reason: str) -> None:
    if item.kind == "signoff":
        raise InvalidInput("This item is satisfied by approvals from reviewers, not by hand.")
    if state == State.FAILED:
        raise InvalidInput("Only an automated check can fail an item.")
    if state == State.DONE and item.kind == "scan":
        raise InvalidInput(
            "This item is ticked by its scan; re-run the scan"
            + (" or waive it on a hotfix." if item.state == State.FAILED else ".")
        )
    if state == State.DONE and item.kind == "field":
        raise InvalidInput(
            f"This item follows the release's {item.argument.replace('_', ' ')}; fill that in."
        )
    if state == State.OPEN and item.kind == "scan" and item.state == State.FAILED:
        raise InvalidInput("A failed automated check re-opens only by re-running its scan.")
    if state in (State.WAIVED, State.NOT_APPLICABLE):
        if not item.waivable:
            raise InvalidInput("This item can never be skipped or waived.")
        if not reason.strip():
            raise InvalidInput(
                "Give a reason.", details={"reason": ["Required when skipping or waiving an item."]}
            )
    if state == State.WAIVED and release.kind != Release.Kind.HOTFIX:
        raise InvalidInput("Only hotfix releases may waive items; say why it does not apply instead.")
    if state == State.NOT_APPLICABLE and item.state == State.FAILED:
        raise InvalidInput("A failed automated check cannot be marked not applicable; re-run it or waive it.")


@write_transaction
def submit(release: Release | int, *, actor: User) -> Release:
    """Send a draft for review; queue the scans that have not run on this commit."""
    release = _lock(release)
    _require_member(actor, release)
    if release.status != Status.DRAFT:
        raise TransitionError(f"Only a draft can be submitted; this release is {release.status}.")
    blockers = blocking_items(release, for_submit=True)
    if blockers:
        raise BlockedError(f"{len(blockers)} required item(s) block the submit.", details=blockers)
    if release.kind == Release.Kind.STANDARD:
        debt = list(followups.open_for_team(release.team_id).order_by("due_date", "id"))
        if debt:
            names = "; ".join(f"{f.item_title} (hotfix #{f.release_id}, owner {f.owner})" for f in debt[:10])
            raise BlockedError(
                f"Team {release.team.slug} has {len(debt)} open follow-up(s) from hotfix waivers; "
                f"close them with evidence first: {names}.",
                details=[followups.describe(f) for f in debt],
                code="open_followups",
            )
    opened = followups.open_for_release(release)
    # Decisions from an earlier round were about an earlier state.
    release.signoffs.filter(stale=False).update(stale=True)
    pending = [
        item.argument
        for item in release.items.filter(satisfied_by__startswith="scan:", state=State.OPEN)
        if item.argument not in _scan_statuses(release)
    ]
    runs = _create_scan_runs(release, actor, pending, force=False)
    _bump(release, status=Status.IN_REVIEW, submitted_at=timezone.now())
    extra = {"followups_opened": [f.item_key for f in opened]} if opened else {}
    _audit(release, actor, "release.submitted", queued_scans=[run.scanner for run in runs], **extra)
    webhooks.emit(release, "submitted", queued_scans=[run.scanner for run in runs])
    notifications.on_submitted(release)
    return release


@dataclass(frozen=True)
class SignOffResult:
    signoff: SignOff
    release: Release


@write_transaction
def sign_off(release: Release | int, *, actor: User, decision: str, comment: str = "") -> SignOffResult:
    """Approve or reject a release in review; enough approvals approve it, a rejection sends it back."""
    release = _lock(release)
    refusal = permissions.signoff_refusal(actor, release)
    if refusal:
        raise refusal
    if decision not in SignOff.Decision.values:
        raise InvalidInput("Decision must be approve or reject.", details={"decision": ["approve or reject"]})
    errors: dict[str, list[str]] = {}
    comment = _clean_text("comment", comment, errors, limit=LONG_TEXT_MAX)
    if errors:
        raise InvalidInput("The sign-off has invalid fields.", details=errors)
    renewing = release.status == Status.APPROVED and bool(approvals.expired_approvals(release))
    if release.status != Status.IN_REVIEW and not renewing:
        raise TransitionError(f"Only a release in review can be signed off; this one is {release.status}.")
    # An expired approval no longer counts; its reviewer may approve again (also once approved).
    expired = [s.pk for s in approvals.expired_approvals(release) if s.reviewer_id == actor.pk]
    if expired:
        release.signoffs.filter(pk__in=expired).update(stale=True)
    if release.signoffs.filter(reviewer=actor, stale=False).exists():
        raise TransitionError("You already signed off this state of the release.", code="already_signed_off")
    if decision == SignOff.Decision.REJECT and not comment.strip():
        raise InvalidInput("A rejection needs a comment.", details={"comment": ["Say what must change."]})
    items = list(release.items.all())
    if decision == SignOff.Decision.APPROVE:
        blockers = blocking_items(release, for_submit=False)
        if blockers:
            raise BlockedError(f"{len(blockers)} required item(s) block the approval.", details=blockers)
    signoff = SignOff.objects.create(
        release=release,
        reviewer=actor,
        decision=decision,
        comment=comment,
        commit=release.commit,
        checklist_digest=checklist_digest(release, items),
    )
    SignOffSnapshot.objects.create(signoff=signoff, state=approvals.snapshot(release, items))
    payload: dict[str, Any] = {"decision": decision}
    unverified = independence_warning(actor, release)
    if unverified:
        payload["independence_unverified"] = unverified
    if decision == SignOff.Decision.APPROVE:
        payload["approvals"] = count_current_approvals(release)
        payload["required"] = release.team.required_approvals
        missing = approvals.shortfall(release)
        if missing:
            payload["missing"] = missing
        if not missing:
            now = timezone.now()
            release.items.filter(satisfied_by="signoff").update(state=State.DONE, set_by=actor, set_at=now)
            _bump(release, status=Status.APPROVED, approved_at=now)
            payload["status"] = Status.APPROVED
        else:
            _bump(release)
    else:
        release.signoffs.filter(stale=False).exclude(pk=signoff.pk).update(stale=True)
        _bump(release, status=Status.DRAFT, submitted_at=None)
        payload["status"] = Status.DRAFT
    _audit(release, actor, f"signoff.{decision}", **payload)
    notifications.on_decision(signoff, release_status=release.status)
    webhooks.emit(
        release,
        "approved" if decision == SignOff.Decision.APPROVE else "rejected",
        reviewer=actor.get_username(),
        comment=comment,
        release_status=release.status,
    )
    return SignOffResult(signoff=signoff, release=release)


@write_transaction
def deploy(
    release: Release | int, *, actor: User, commit: str | None = None, version_after: str | None = None
):
    """Record that the approved commit was deployed, with the version it brought."""
    release = _lock(release)
    _require_member(actor, release)
    if release.status != Status.APPROVED:
        raise TransitionError(f"Only an approved release can be deployed; this one is {release.status}.")
    missing = approvals.shortfall(release)
    if missing:
        raise TransitionError(
            "The approvals of this release are no longer enough; it needs review again. " + " ".join(missing),
            details={"reasons": missing},
        )
    _check_freeze(release)
    if commit is not None and clean_commit(commit) != release.commit:
        raise TransitionError(f"Commit {commit} is not the approved commit {release.commit}.")
    changes: dict[str, Any] = {"status": Status.DEPLOYED, "deployed_at": timezone.now()}
    if version_after:
        errors: dict[str, list[str]] = {}
        version_after = _clean_text("version_after", version_after, errors, limit=VERSION_MAX).strip()
        if errors:
            raise InvalidInput("Invalid version.", details=errors)
        if release.version_after and version_after != release.version_after:
            raise TransitionError(
                f"Version {version_after} is not the approved version after {release.version_after}."
            )
        changes["version_after"] = version_after
    if not (changes.get("version_after") or release.version_after):
        raise InvalidInput("Give the version after the deployment.", details={"version_after": ["Required."]})
    _bump(release, **changes)
    _audit(release, actor, "release.deployed", commit=release.commit, version_after=release.version_after)
    webhooks.emit(release, "deployed", commit=release.commit, version_after=release.version_after)
    return release


@write_transaction
def rollback(release: Release | int, *, actor: User, reason: str) -> Release:
    """Record that a deployed release was rolled back, and why."""
    release = _lock(release)
    _require_member(actor, release)
    errors: dict[str, list[str]] = {}
    reason = _clean_text("reason", reason, errors, limit=LONG_TEXT_MAX)
    if errors:
        raise InvalidInput("Invalid reason.", details=errors)
    if release.status != Status.DEPLOYED:
        raise TransitionError(f"Only a deployed release can be rolled back; this one is {release.status}.")
    if not reason.strip():
        raise InvalidInput("A rollback needs a reason.", details={"reason": ["Required."]})
    _bump(release, status=Status.ROLLED_BACK, rolled_back_at=timezone.now(), rollback_reason=reason)
    _audit(release, actor, "release.rolled_back", reason=reason)
    webhooks.emit(release, "rolled_back", reason=reason)
    return release


@write_transaction
def cancel(release: Release | int, *, actor: User, reason: str = "") -> Release:
    """Abandon a release that is still a draft or in review."""
    release = _lock(release)
    _require_member(actor, release)
    if release.status not in (Status.DRAFT, Status.IN_REVIEW):
        raise TransitionError(
            f"Only a draft or a release in review can be cancelled; this one is {release.status}."
        )
    errors: dict[str, list[str]] = {}
    reason = _clean_text("reason", reason, errors, limit=LONG_TEXT_MAX)
    if errors:
        raise InvalidInput("Invalid reason.", details=errors)
    release.signoffs.filter(stale=False).update(stale=True)
    _bump(release, status=Status.CANCELLED, cancelled_at=timezone.now())
    _audit(release, actor, "release.cancelled", reason=reason)
    return release
