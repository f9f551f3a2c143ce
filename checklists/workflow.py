"""Every state change of a release, and the rules that guard it.

Pages, the API, admin actions, management commands and Celery tasks all call these
functions; no rule lives anywhere else. Each function:
- runs in one transaction and locks the release row first, so concurrent requests
  queue behind each other instead of losing updates;
- takes the acting user keyword-only and checks what that user may do;
- raises a WorkflowError subclass (checklists/errors.py) that names what blocks;
- writes exactly one AuditEvent when it changes something, and none when it does not;
- enqueues Celery work only once the transaction commits.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import approvals, audit, followups, freeze, notifications, permissions, webhooks
from .errors import BlockedError, InvalidInput, NotAllowed, NotFound, TransitionError
from .junit import JUnitSummary, parse_junit
from .models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    REPOSITORY_MAX,
    TITLE_MAX,
    VERSION_MAX,
    AuditEvent,
    ChecklistItem,
    ChecklistTemplate,
    FollowUp,
    FreezeOverride,
    Membership,
    Release,
    ScanRun,
    SignOff,
    SignOffSnapshot,
    Team,
    TestReport,
    Webhook,
    checklist_digest,
)
from .template_files import SCANNERS

logger = logging.getLogger(__name__)

Status = Release.Status
State = ChecklistItem.State

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# Remote transports git may use. `ext::` and other remote helpers run commands, so
# anything else (besides a plain local path) is refused.
REPOSITORY_RE = re.compile(
    r"^(https?://|ssh://|file://|git@[A-Za-z0-9.-]+:|/|\.{1,2}(/|$)|[A-Za-z0-9_][^:]*$)"
)
TEXT_LIMITS = {
    "title": TITLE_MAX,
    "repository": REPOSITORY_MAX,
    "version_before": VERSION_MAX,
    "version_after": VERSION_MAX,
    "description": LONG_TEXT_MAX,
    "rollback_plan": LONG_TEXT_MAX,
    "deployment_steps": LONG_TEXT_MAX,
    "known_limitations": LONG_TEXT_MAX,
}
EDITABLE_FIELDS = ("commit", *TEXT_LIMITS)
FIELD_OF_ITEM = {
    "rollback_plan": ("rollback_plan",),
    "deployment_steps": ("deployment_steps",),
    "versions": ("version_before", "version_after"),
    "known_limitations": ("known_limitations",),
}


# --- input -----------------------------------------------------------------


def _clean_text(name: str, value: Any, errors: dict, *, limit: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return ""
    if "\x00" in value:
        errors[name] = ["Must not contain NUL characters."]
        return ""
    if len(value) > limit:
        errors[name] = [f"At most {limit} characters (got {len(value)})."]
    return value


def clean_commit(value: Any) -> str:
    sha = value.strip().lower() if isinstance(value, str) else ""
    if not SHA_RE.fullmatch(sha):
        raise InvalidInput(
            "Commit must be a full 40-character hexadecimal SHA.",
            details={
                "commit": ["Commit must be a full 40-character hexadecimal SHA, not a branch or short SHA."]
            },
        )
    return sha


def _clean_repository(value: str, errors: dict) -> str:
    value = value.strip()
    if not value:
        errors["repository"] = ["Required."]
    elif (
        value.startswith("-")
        or "::" in value
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
        or not REPOSITORY_RE.match(value)
    ):
        errors["repository"] = ["Give an https://, ssh://, git@host:path, file:// URL or a local path."]
    return value


def clean_release_data(data: dict, *, partial: bool = False) -> dict:
    """Validate release fields; raise InvalidInput with every field's problem at once."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {"kind", *EDITABLE_FIELDS}
    if unknown:
        errors.update({name: ["Unknown or read-only field."] for name in sorted(unknown)})
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data or not partial:
            cleaned[name] = _clean_text(name, data.get(name), errors, limit=limit)
    if "title" in cleaned and not cleaned["title"].strip() and "title" not in errors:
        errors["title"] = ["Required."]
    if "repository" in cleaned and "repository" not in errors:
        cleaned["repository"] = _clean_repository(cleaned["repository"], errors)
    if "commit" in data or not partial:
        try:
            cleaned["commit"] = clean_commit(data.get("commit"))
        except InvalidInput as exc:
            errors.update(exc.details)
    if "kind" in data or not partial:
        kind = data.get("kind") or Release.Kind.STANDARD
        if kind not in Release.Kind.values:
            errors["kind"] = [f"Must be one of {', '.join(Release.Kind.values)}."]
        cleaned["kind"] = kind
    if errors:
        raise InvalidInput("The release has invalid fields.", details=errors)
    return cleaned


# --- helpers -----------------------------------------------------------------


def _correlation_id() -> str:
    try:
        from django_guid import get_guid

        return (get_guid() or "")[:64]
    except Exception:  # noqa: BLE001 - the id is a nicety; never fail a change for it
        return ""


def _audit(release: Release | None, actor: User | None, verb: str, **payload) -> AuditEvent:
    # Appended to the hash chain (checklists/audit.py), serialised with other writers.
    return audit.append(
        release=release,
        actor=actor if actor and actor.is_authenticated else None,
        verb=verb,
        payload=payload,
        correlation_id=_correlation_id(),
    )


def _lock(release: Release | int) -> Release:
    pk = release.pk if isinstance(release, Release) else release
    try:
        return Release.objects.select_for_update().select_related("team").get(pk=pk)
    except Release.DoesNotExist:
        raise NotFound("No such release.") from None


def _bump(release: Release, **changes) -> None:
    for name, value in changes.items():
        setattr(release, name, value)
    release.revision += 1
    release.save(update_fields=[*changes, "revision", "updated_at"])


def _require_open(release: Release) -> None:
    if not release.is_open_for_changes:
        raise TransitionError(
            f"The release is {release.get_status_display().lower()}; it can no longer change."
        )


def _require_member(actor: User | None, release: Release) -> None:
    if actor is None:
        return  # the system itself (scans, sweeps)
    permissions.check_can_work_on(actor, release)


def _field_state(release: Release, item: ChecklistItem) -> str:
    return State.DONE if release.field_value(item.argument) else State.OPEN


def _make_approvals_stale(release: Release) -> dict:
    """Mark current sign-offs stale; an approved release goes back to review. Returns what changed."""
    count = release.signoffs.filter(stale=False).update(stale=True)
    changed: dict[str, Any] = {}
    if count:
        changed["signoffs_made_stale"] = count
    if release.status == Status.APPROVED:
        release.status = Status.IN_REVIEW
        release.approved_at = None
        changed["status"] = Status.IN_REVIEW
    release.items.filter(satisfied_by="signoff").exclude(state=State.OPEN).update(
        state=State.OPEN, set_by=None, set_at=None
    )
    return changed


def _blocker(item: ChecklistItem, why: str) -> dict:
    return {"key": item.key, "title": item.title, "state": item.state, "why": why}


def _item_blocker(release: Release, item: ChecklistItem, scan_status: str | None, *, for_submit: bool):
    """Why this item blocks the transition, or None."""
    if not item.required or item.kind == "signoff":
        return None
    if item.state == State.DONE or (item.state == State.NOT_APPLICABLE and item.reason):
        return None
    if item.state == State.WAIVED:
        if release.kind == Release.Kind.HOTFIX and item.waivable and item.reason:
            return None
        return _blocker(item, "waived items are allowed only on hotfix releases, for waivable items")
    if item.kind == "scan" and item.state == State.OPEN:
        if for_submit and scan_status in (None, ScanRun.Status.QUEUED, ScanRun.Status.RUNNING):
            return None  # submit queues the scan; approval waits for its result
        if scan_status in (ScanRun.Status.QUEUED, ScanRun.Status.RUNNING):
            return _blocker(item, "the scan has not finished")
        if scan_status == ScanRun.Status.ERROR:
            return _blocker(item, "the scan ended in error; re-run it")
        return _blocker(item, "the scan has not run on this commit")
    if item.state == State.FAILED:
        return _blocker(item, "the automated check failed; fix and re-run it, or waive it on a hotfix")
    if item.kind == "field":
        return _blocker(item, f"fill in {item.argument.replace('_', ' ')}")
    return _blocker(item, "not done")


def _scan_statuses(release: Release) -> dict[str, str]:
    return dict(release.scans.filter(current=True, commit=release.commit).values_list("scanner", "status"))


def blocking_items(release: Release, *, for_submit: bool) -> list[dict]:
    """The required items that keep the release from being submitted (or approved)."""
    statuses = _scan_statuses(release)
    blockers = []
    for item in release.items.all():
        blocker = _item_blocker(release, item, statuses.get(item.argument), for_submit=for_submit)
        if blocker:
            blockers.append(blocker)
    return blockers


def count_current_approvals(release: Release) -> int:
    """Distinct non-author reviewers, with the reviewer role on the team now, whose approval is
    current and not expired (Team.approval_valid_days); see checklists/approvals.py."""
    return len(approvals.counting_approvals(release))


# --- releases ----------------------------------------------------------------


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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
    item = release.items.select_for_update().filter(key=key).first()
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


# --- scans -------------------------------------------------------------------


def _enqueue_scan(run_id: int) -> None:
    # Imported here: tasks import this module. If the broker is down the run stays
    # `queued` in the database and the periodic sweep enqueues it later.
    from . import tasks

    try:
        tasks.run_scan.delay(run_id)
    except Exception:  # noqa: BLE001 - any broker failure; the row is the source of truth
        logger.warning("could not enqueue scan run %s; the sweep will retry", run_id, exc_info=True)


def _create_scan_runs(
    release: Release, actor: User | None, scanners: list[str], *, force: bool
) -> list[ScanRun]:
    created = []
    for scanner in scanners:
        existing = release.scans.filter(current=True, scanner=scanner, commit=release.commit).first()
        # A queued run reads its inputs (repository, latest report) when it starts, so it
        # already covers a forced request; a running one may have read older inputs.
        if existing and (not force or existing.status == ScanRun.Status.QUEUED):
            continue
        if existing:
            existing.current = False
            existing.save(update_fields=["current"])
        run = ScanRun.objects.create(
            release=release,
            scanner=scanner,
            commit=release.commit,
            requested_by=actor if actor and actor.is_authenticated else None,
            owner=release.team.owner,
            correlation_id=_correlation_id(),
        )
        transaction.on_commit(lambda pk=run.pk: _enqueue_scan(pk))
        created.append(run)
    return created


@transaction.atomic
def request_scans(
    release: Release | int, *, actor: User | None, scanners: list[str] | None = None, force: bool = False
) -> list[ScanRun]:
    """Queue scans of the release commit; an unforced request for a scan already run changes nothing."""
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    on_checklist = sorted({i.argument for i in release.items.filter(satisfied_by__startswith="scan:")})
    wanted = on_checklist if scanners is None else list(dict.fromkeys(scanners))
    unknown = [name for name in wanted if name not in SCANNERS or name not in on_checklist]
    if unknown:
        raise InvalidInput(
            f"Not a scanner of this checklist: {', '.join(map(str, unknown))}.",
            details={"scanners": [f"Choose from {', '.join(on_checklist)}."]},
        )
    runs = _create_scan_runs(release, actor, wanted, force=force)
    if not runs:
        return list(release.scans.filter(current=True, commit=release.commit, scanner__in=wanted))
    # A forced re-run re-opens the items it will decide again.
    reopened = release.items.filter(
        satisfied_by__in=[f"scan:{run.scanner}" for run in runs], state__in=[State.DONE, State.FAILED]
    )
    payload: dict[str, Any] = {"scanners": [run.scanner for run in runs], "force": force}
    if reopened.update(state=State.OPEN, scan=None, set_by=None, set_at=None):
        payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, actor, "scans.requested", **payload)
    return runs


def claim_scan(run_id: int) -> bool:
    """Move a queued run to running and count the attempt; only one worker wins (conditional update)."""
    now = timezone.now()
    won = ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.QUEUED).update(
        status=ScanRun.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    return won == 1


def heartbeat_scan(run_id: int) -> bool:
    """Note that a running scan is alive; False if it is no longer running."""
    return (
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING).update(heartbeat_at=timezone.now())
        == 1
    )


def requeue_scan(run_id: int, *, stale_before=None) -> bool:
    """Put a running scan back in the queue (a retry, or its worker died); False if another did."""
    runs = ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING)
    if stale_before is not None:
        runs = runs.filter(heartbeat_at__lt=stale_before)
    return runs.update(status=ScanRun.Status.QUEUED, heartbeat_at=timezone.now()) == 1


def mark_scan_enqueued(run_id: int, *, not_since) -> bool:
    """Claim the right to re-send a queued run nobody took since `not_since` (one sweeper wins)."""
    return (
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.QUEUED)
        .filter(Q(heartbeat_at__lt=not_since) | Q(heartbeat_at__isnull=True, queued_at__lt=not_since))
        .update(heartbeat_at=timezone.now())
        == 1
    )


@transaction.atomic
def record_scan_result(
    run_id: int, *, status: str, findings: list | None = None, summary: dict | None = None, error: str = ""
) -> ScanRun | None:
    """Store a scan's outcome once and tick or fail its item if the run is about the release's commit."""
    if status not in ScanRun.FINAL:
        raise ValueError(f"not a final scan status: {status}")
    release_id = ScanRun.objects.filter(pk=run_id).values_list("release_id", flat=True).first()
    if release_id is None:
        return None  # the release was deleted meanwhile
    release = _lock(release_id)
    run = ScanRun.objects.select_for_update().get(pk=run_id)
    if run.status in ScanRun.FINAL:
        return run  # recorded already: a redelivered task changes nothing
    run.status, run.findings, run.summary = status, findings or [], summary or {}
    run.error, run.finished_at = error[:4000], timezone.now()
    run.save(update_fields=["status", "findings", "summary", "error", "finished_at"])
    payload: dict[str, Any] = {
        "scanner": run.scanner,
        "scan": run.pk,
        "status": status,
        "findings": len(run.findings),
    }
    item = release.items.filter(satisfied_by=f"scan:{run.scanner}").first()
    applies = run.current and run.commit == release.commit and release.is_open_for_changes
    new_state = {ScanRun.Status.PASSED: State.DONE, ScanRun.Status.FAILED: State.FAILED}.get(status)
    skipped = item is None or item.state in (State.WAIVED, State.NOT_APPLICABLE)
    if applies and new_state and not skipped and (item.state != new_state or item.scan_id != run.pk):
        item.state, item.scan, item.set_by, item.set_at = new_state, run, None, timezone.now()
        item.evidence = f"scan #{run.pk} {status} on {run.commit[:12]}: {len(run.findings)} finding(s)"
        item.evidence_commit = run.commit
        item.save(update_fields=["state", "scan", "set_by", "set_at", "evidence", "evidence_commit"])
        payload["item"] = {"key": item.key, "to": new_state}
        payload.update(_make_approvals_stale(release))
    _bump(release, status=release.status, approved_at=release.approved_at)
    _audit(release, None, "scan.finished", **payload)
    if run.current and status in (ScanRun.Status.FAILED, ScanRun.Status.ERROR):
        webhooks.emit(
            release, "scan_failed", scanner=run.scanner, scan=run.pk, status=status, commit=run.commit,
            findings=len(run.findings), error=run.error,
        )
    return run


# --- test reports and the deploy gate ------------------------------------------


@dataclass(frozen=True)
class TestReportResult:
    report: TestReport
    summary: JUnitSummary

    __test__ = False  # not a pytest test class


@transaction.atomic
def store_test_report(
    release: Release | int, *, actor: User, content: bytes, commit: str | None = None
) -> TestReportResult:
    """Keep a JUnit XML report for a commit of the release (the release's own by default)."""
    release = _lock(release)
    _require_open(release)
    _require_member(actor, release)
    commit = release.commit if commit is None else clean_commit(commit)
    summary = parse_junit(content)
    report = TestReport.objects.create(
        release=release,
        commit=commit,
        uploaded_by=actor,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    counts = {name: getattr(summary, name) for name in ("tests", "failures", "errors", "skipped")}
    _bump(release, status=release.status, approved_at=release.approved_at)  # its timeline changed
    _audit(
        release, actor, "test_report.uploaded", report=report.pk, commit=commit, size=report.size, **counts
    )
    return TestReportResult(report=report, summary=summary)


@dataclass(frozen=True)
class GateStatus:
    reasons: list[str]
    freeze: list[dict]  # the freeze windows among the reasons


def gate_status(release: Release, commit: Any) -> GateStatus:
    """The gate's answer: why it is shut (reasons) and which freeze windows shut it."""
    windows: list = []
    reasons = gate_reasons(release, commit, windows)
    return GateStatus(reasons=reasons, freeze=[w.as_dict() for w in windows])


def gate_reasons(release: Release, commit: Any, windows_out: list | None = None) -> list[str]:
    """Why a pipeline may not deploy `commit` of this release now; empty when the gate is open."""
    reasons = []
    sha = commit.strip().lower() if isinstance(commit, str) else ""
    if not SHA_RE.fullmatch(sha):
        reasons.append("Give the commit you are about to deploy as ?commit=<full 40-character SHA>.")
    elif sha != release.commit:
        reasons.append(f"Commit {sha} is not the release's commit {release.commit}.")
    if release.status != Status.APPROVED:
        reasons.append(f"The release is {release.get_status_display().lower()}, not approved.")
    else:
        reasons.extend(approvals.shortfall(release))
    windows = freeze.blocking_windows(release)
    reasons.extend(freeze.describe(window) for window in windows)
    if windows_out is not None:
        windows_out.extend(windows)
    return reasons


# --- rules beyond the gate (docs/rules.md) ---------------------------------------------


def independence_warning(actor: User, release: Release) -> str:
    """Why reviewer independence could not be fully checked (the repository was unreadable), or ''."""
    from .independence import check

    return check(actor, release).warning


def _check_freeze(release: Release) -> None:
    windows = freeze.blocking_windows(release)
    if windows:
        hint = (
            " A reviewer may override it for this hotfix, with a reason."
            if release.kind == Release.Kind.HOTFIX
            else " Only a hotfix may pass a freeze, with a reviewer's override."
        )
        raise TransitionError(
            freeze.describe(windows[0]) + "." + hint,
            code="freeze",
            details={"windows": [w.as_dict() for w in windows]},
        )


@transaction.atomic
def override_freeze(release: Release | int, *, actor: User, reason: str) -> list[FreezeOverride]:
    """Let a hotfix through the team's active freeze window(s); a reviewer (not its author) says why."""
    release = _lock(release)
    if release.kind != Release.Kind.HOTFIX:
        raise TransitionError("Only a hotfix may pass a deploy freeze.", code="freeze")
    if release.status in (Status.DEPLOYED, Status.ROLLED_BACK, Status.CANCELLED):
        raise TransitionError(f"The release is {release.get_status_display().lower()}; nothing to override.")
    if actor.pk == release.author_id:
        raise permissions.SelfReviewError("You are the author of this hotfix; a reviewer must override the freeze.")
    if permissions.role_in(actor, release.team_id) != Membership.Role.REVIEWER:
        raise permissions.NotAReviewerError(f"Only a reviewer of team {release.team.slug} may override a freeze.")
    errors: dict[str, list[str]] = {}
    reason = _clean_text("reason", reason, errors, limit=EVIDENCE_MAX)
    if not errors and not reason.strip():
        errors["reason"] = ["Say why this hotfix must ship during the freeze."]
    if errors:
        raise InvalidInput("An override needs a reason.", details=errors)
    windows = freeze.blocking_windows(release)
    if not windows:
        raise TransitionError("No deploy freeze blocks this release now.", code="no_freeze")
    overrides = [
        FreezeOverride.objects.create(release=release, window=w, reviewer=actor, reason=reason) for w in windows
    ]
    _bump(release)
    _audit(release, actor, "freeze.overridden", reason=reason, windows=[w.as_dict() for w in windows])
    return overrides


@transaction.atomic
def close_followup(followup: FollowUp | int, *, actor: User, evidence: str) -> FollowUp:
    """Close a hotfix waiver's follow-up with evidence that the item is now done (audited)."""
    pk = followup.pk if isinstance(followup, FollowUp) else followup
    found = FollowUp.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound("No such follow-up.")
    if permissions.role_in(actor, found.team_id) is None:
        raise NotAllowed("Only a member of the team may close its follow-ups.")
    if found.closed_at is not None:
        raise TransitionError("This follow-up is closed already.", code="already_closed")
    errors: dict[str, list[str]] = {}
    evidence = _clean_text("evidence", evidence, errors, limit=EVIDENCE_MAX)
    if not errors and not evidence.strip():
        errors["evidence"] = ["Show that the item is now done: a link or a sentence."]
    if errors:
        raise InvalidInput("Closing a follow-up needs evidence.", details=errors)
    found.closed_at, found.closed_by, found.evidence = timezone.now(), actor, evidence
    found.save(update_fields=["closed_at", "closed_by", "evidence"])
    # The release's timeline shows this event: bump its revision like every change (page caches).
    Release.objects.filter(pk=found.release_id).update(revision=F("revision") + 1, updated_at=timezone.now())
    _audit(
        found.release,
        actor,
        "followup.closed",
        followup=found.pk,
        key=found.item_key,
        evidence=evidence,
        due_date=found.due_date.isoformat(),
    )
    return found


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # shown once, never again


@transaction.atomic
def create_webhook(
    team: Team | str, *, actor: User, url: str, events: list[str] | None = None, allow_private: bool = False
) -> NewWebhook:
    """Register a team URL for signed events. Reviewers of the team may; allow_private needs a superuser."""
    if isinstance(team, str):
        team = Team.objects.filter(slug=team).first()
        if team is None:
            raise NotFound("No such team.")
    if not actor.is_superuser and permissions.role_in(actor, team.pk) != Membership.Role.REVIEWER:
        raise NotAllowed(f"Only a reviewer of team {team.slug} (or an admin) may register webhooks.")
    if allow_private and not actor.is_superuser:
        raise NotAllowed("Only an admin may allow private addresses.")
    chosen = list(dict.fromkeys(events)) if events else list(webhooks.WEBHOOK_EVENTS)
    unknown = [e for e in chosen if e not in webhooks.WEBHOOK_EVENTS]
    if unknown:
        raise InvalidInput(
            f"Unknown event(s): {', '.join(map(str, unknown))}.",
            details={"events": [f"Choose from {', '.join(webhooks.WEBHOOK_EVENTS)}."]},
        )
    if not isinstance(url, str) or len(url) > 500:
        raise InvalidInput("Give a URL of at most 500 characters.", details={"url": ["Invalid."]})
    try:
        webhooks.check_url(url, allow_private=allow_private)
    except webhooks.UnsafeURL as exc:
        raise InvalidInput(str(exc), details={"url": [str(exc)]}, code="unsafe_url") from None
    secret = webhooks.new_secret()
    hook = Webhook.objects.create(
        team=team, url=url, secret=secret, events=chosen, allow_private=allow_private, created_by=actor
    )
    _audit(None, actor, "webhook.created", team=team.slug, webhook=hook.pk, url=url, events=chosen,
           allow_private=allow_private)
    return NewWebhook(webhook=hook, secret=secret)


__all__ = [
    "blocking_items",
    "cancel",
    "claim_scan",
    "clean_commit",
    "clean_release_data",
    "close_followup",
    "create_webhook",
    "override_freeze",
    "count_current_approvals",
    "create_release",
    "deploy",
    "record_scan_result",
    "request_scans",
    "rollback",
    "set_item_state",
    "sign_off",
    "submit",
    "update_release",
]
