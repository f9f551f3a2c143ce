"""A release's life: create, edit, tick items, submit, sign off, deploy, roll back, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from ..effects import emails, outbox, webhooks
from ..errors import InvalidInput, NotAllowed, NotFound, TransitionError
from ..integrations import deliveries
from ..models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    VERSION_MAX,
    ChecklistItem,
    ChecklistTemplate,
    Contribution,
    Release,
    SignOff,
    SignOffSnapshot,
    Team,
    checklist_digest,
)
from ..policy import abilities, approvals, permissions
from . import followups
from .base import (
    FieldErrors,
    State,
    Status,
    _audit,
    _bump,
    _field_state,
    _lock,
    _make_approvals_stale,
    _require_member,
    _require_open,
    _scan_statuses,
    checked_text,
    clean_commit,
    clean_release_data,
    count_current_approvals,
    resolve_repository,
)
from .ranges import point_at_range
from .scans import _create_scan_runs
from .transactions import write_transaction

# The release fields a `field:` item follows, where they are not just the field of its name.
FIELD_SOURCES = {"versions": {"version_before", "version_after"}}

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
    cleaned["repository"] = resolve_repository(team, cleaned["repository"])
    template = team.template or ChecklistTemplate.default()
    release = Release.objects.create(team=team, template=template, author=actor, **cleaned)
    release.commit_range = point_at_range(release)
    release.save(update_fields=["commit_range"])
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
        if item.is_field and release.field_value(item.argument):
            item.state, item.set_at = State.DONE, now
        items.append(item)
    ChecklistItem.objects.bulk_create(items)
    _audit(
        release,
        actor,
        "release.created",
        kind=release.kind,
        repository=release.repository.location,
        commit=release.commit,
        template=str(template),
    )
    deliveries.on_release_changed(release)  # the commit's first status: pending
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
    if "repository" in cleaned:
        cleaned["repository"] = resolve_repository(
            release.team, cleaned["repository"], current=release.repository
        )
    changed = {name: value for name, value in cleaned.items() if getattr(release, name) != value}
    if not changed:
        return release
    old_commit, old_repository = release.commit, release.repository
    for name, value in changed.items():
        setattr(release, name, value)
    payload: dict[str, Any] = {"fields": sorted(changed)}
    if "commit" in changed:
        payload["commit"] = {"from": old_commit, "to": release.commit}
    if "repository" in changed:
        payload["repository"] = {"from": old_repository.location, "to": release.repository.location}
        # Evidence about the old repository is history now, even for the same commit SHA.
        release.scans.filter(current=True).update(current=False)
    if "commit" in changed or "repository" in changed:
        # Every commit-bound item is open again; whoever chose the new code may not approve it.
        reopened = release.items.scans().exclude(state=State.OPEN)
        payload["reopened_scan_items"] = sorted(reopened.values_list("key", flat=True))
        reopened.update(
            state=State.OPEN, scan=None, evidence="", evidence_commit="", reason="", set_by=None, set_at=None
        )
        if actor.pk != release.author_id:
            for kind in ("commit", "repository"):
                if kind in changed:
                    Contribution.objects.get_or_create(release=release, user=actor, kind=kind)
            payload["contributor"] = actor.get_username()
        changed["commit_range"] = point_at_range(release)
    now = timezone.now()
    for item in release.items.fields():
        if item.state in (State.WAIVED, State.NOT_APPLICABLE):
            continue
        derived = _field_state(release, item)
        # Whoever last wrote the field an item follows filled that item in (reviewer independence).
        rewritten = derived == State.DONE and bool(
            FIELD_SOURCES.get(item.argument, {item.argument}) & set(changed)
        )
        if derived != item.state or (rewritten and item.set_by_id != actor.pk):
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
    errors = FieldErrors()
    evidence = item.evidence if evidence is None else errors.text("evidence", evidence, limit=EVIDENCE_MAX)
    reason = item.reason if reason is None else errors.text("reason", reason, limit=EVIDENCE_MAX)
    errors.refuse("The item change has invalid fields.")
    _check_item_change(release, item, state, reason)

    if state == State.OPEN and item.is_field:
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
    if item.is_signoff:
        raise InvalidInput("This item is satisfied by approvals from reviewers, not by hand.")
    if state == State.FAILED:
        raise InvalidInput("Only an automated check can fail an item.")
    if state == State.DONE and item.is_scan:
        raise InvalidInput(
            "This item is ticked by its scan; re-run the scan"
            + (" or waive it on a hotfix." if item.state == State.FAILED else ".")
        )
    if state == State.DONE and item.is_field:
        raise InvalidInput(
            f"This item follows the release's {item.argument.replace('_', ' ')}; fill that in."
        )
    if state == State.OPEN and item.is_scan and item.state == State.FAILED:
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
    if refusal := abilities.submit_refusal(actor, release, abilities.Facts(release)):
        raise refusal
    opened = followups.open_for_release(release)
    # Decisions from an earlier round were about an earlier state.
    release.signoffs.filter(stale=False).update(stale=True)
    pending = [
        item.argument
        for item in release.items.scans().filter(state=State.OPEN)
        if item.argument not in _scan_statuses(release)
    ]
    runs = _create_scan_runs(release, actor, pending, force=False)
    # What ships is read again if production moved or the last read failed.
    rng = point_at_range(release, retry_unreadable=True)
    _bump(release, status=Status.IN_REVIEW, submitted_at=timezone.now(), commit_range=rng)
    extra = {"followups_opened": [f.item_key for f in opened]} if opened else {}
    _audit(release, actor, "release.submitted", queued_scans=[run.scanner for run in runs], **extra)
    webhooks.emit(release, "submitted", queued_scans=[run.scanner for run in runs])
    emails.on_submitted(release)
    emails.on_event(release, "submitted")
    deliveries.on_submitted(release)  # the team's Slack channel, with Approve / Reject
    return release


@dataclass(frozen=True)
class SignOffResult:
    signoff: SignOff
    release: Release


@write_transaction
def sign_off(
    release: Release | int,
    *,
    actor: User,
    decision: str,
    comment: str = "",
    acknowledge_relation: str = "",
) -> SignOffResult:
    """Approve or reject a release in review; enough approvals approve it, a rejection sends it back.

    An approval needs what ships read (or a reviewer's override on a hotfix); approving an
    older or diverged commit needs `acknowledge_relation` to name that relation.
    """
    release = _lock(release)
    if decision not in SignOff.Decision.values:
        raise InvalidInput("Decision must be approve or reject.", details={"decision": ["approve or reject"]})
    facts = abilities.Facts(release)
    if refusal := abilities.reviewer_refusal(actor, release, facts):
        raise refusal
    comment = checked_text(
        "comment", comment, limit=LONG_TEXT_MAX, message="The sign-off has invalid fields."
    )
    if refusal := abilities.signoff_refusal(actor, release, facts, decision=decision):
        raise refusal
    if decision == SignOff.Decision.REJECT and not comment.strip():
        raise InvalidInput("A rejection needs a comment.", details={"comment": ["Say what must change."]})
    acknowledged = ""
    if decision == SignOff.Decision.APPROVE:
        if refusal := abilities.relation_refusal(release, facts, acknowledge_relation):
            raise refusal
        acknowledged = facts.shipping.relation if facts.shipping.older_or_diverged else ""
    # An expired approval no longer counts; its reviewer may approve again (also once approved).
    expired = [s.pk for s in facts.expired if s.reviewer_id == actor.pk]
    if expired:
        release.signoffs.filter(pk__in=expired).update(stale=True)
    signoff = SignOff.objects.create(
        release=release,
        reviewer=actor,
        decision=decision,
        comment=comment,
        commit=release.commit,
        checklist_digest=checklist_digest(release, facts.items),
        commit_range=facts.shipping.range,
        acknowledged_relation=acknowledged,
    )
    SignOffSnapshot.objects.create(signoff=signoff, state=approvals.snapshot(release, facts.items))
    payload: dict[str, Any] = {"decision": decision}
    if facts.shipping.override is not None and decision == SignOff.Decision.APPROVE:
        payload["range_overridden_by"] = facts.shipping.override.reviewer.get_username()
    if acknowledged:
        payload["acknowledged_relation"] = acknowledged
    if decision == SignOff.Decision.APPROVE:
        payload["approvals"] = count_current_approvals(release)
        payload["required"] = release.team.required_approvals
        missing = approvals.shortfall(release)
        if missing:
            payload["missing"] = missing
        if not missing:
            now = timezone.now()
            release.items.signoff().update(state=State.DONE, set_by=actor, set_at=now)
            _bump(release, status=Status.APPROVED, approved_at=now)
            payload["status"] = Status.APPROVED
        else:
            _bump(release)
    else:
        release.signoffs.filter(stale=False).exclude(pk=signoff.pk).update(stale=True)
        _bump(release, status=Status.DRAFT, submitted_at=None)
        payload["status"] = Status.DRAFT
    _audit(release, actor, f"signoff.{decision}", **payload)
    emails.on_decision(signoff, release_status=release.status)
    emails.on_event(release, "approved" if decision == SignOff.Decision.APPROVE else "rejected")
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
    if refusal := abilities.deploy_refusal(actor, release, abilities.Facts(release)):
        raise refusal
    if commit is not None and clean_commit(commit) != release.commit:
        raise TransitionError(f"Commit {commit} is not the approved commit {release.commit}.")
    changes: dict[str, Any] = {"status": Status.DEPLOYED, "deployed_at": timezone.now()}
    if version_after:
        version_after = checked_text(
            "version_after", version_after, limit=VERSION_MAX, message="Invalid version."
        ).strip()
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
    emails.on_event(release, "deployed")
    # Production moved: the other open releases of this repository ship something else now.
    outbox.on_commit(outbox.REPOINT_RELEASES, release.repository_id)  # the sweep finds what it misses
    return release


@write_transaction
def rollback(release: Release | int, *, actor: User, reason: str) -> Release:
    """Record that a deployed release was rolled back, and why."""
    release = _lock(release)
    reason = checked_text("reason", reason, limit=LONG_TEXT_MAX, message="Invalid reason.")
    if refusal := abilities.rollback_refusal(actor, release, abilities.Facts(release)):
        raise refusal
    if not reason.strip():
        raise InvalidInput("A rollback needs a reason.", details={"reason": ["Required."]})
    _bump(release, status=Status.ROLLED_BACK, rolled_back_at=timezone.now(), rollback_reason=reason)
    _audit(release, actor, "release.rolled_back", reason=reason)
    webhooks.emit(release, "rolled_back", reason=reason)
    emails.on_event(release, "rolled_back")
    # Production is the release before this one again.
    outbox.on_commit(outbox.REPOINT_RELEASES, release.repository_id)  # the sweep finds what it misses
    return release


@write_transaction
def cancel(release: Release | int, *, actor: User, reason: str = "") -> Release:
    """Abandon a release that is still a draft or in review."""
    release = _lock(release)
    if refusal := abilities.cancel_refusal(actor, release, abilities.Facts(release)):
        raise refusal
    reason = checked_text("reason", reason, limit=LONG_TEXT_MAX, message="Invalid reason.")
    release.signoffs.filter(stale=False).update(stale=True)
    _bump(release, status=Status.CANCELLED, cancelled_at=timezone.now())
    _audit(release, actor, "release.cancelled", reason=reason)
    return release
