"""What every workflow function shares: input checks, locking, audit, staleness, blockers."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User

from .. import approvals, audit, permissions, text
from ..errors import InvalidInput, NotFound, TransitionError
from ..models import (
    LONG_TEXT_MAX,
    REPOSITORY_MAX,
    TITLE_MAX,
    VERSION_MAX,
    AuditEvent,
    ChecklistItem,
    Release,
    ScanRun,
)

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
# Fields shown on one line: in email subjects, page headings, log lines. A line break
# there splits a mail header (BadHeaderError in the worker) or forges a log line.
SINGLE_LINE_FIELDS = frozenset({"title", "repository", "version_before", "version_after"})


# --- input -----------------------------------------------------------------


def _clean_text(name: str, value: Any, errors: dict, *, limit: int, single_line: bool | None = None) -> str:
    """Check one text field; `single_line` defaults to whether `name` is in SINGLE_LINE_FIELDS."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return ""
    if single_line is None:
        single_line = name in SINGLE_LINE_FIELDS
    if "\x00" in value:
        errors[name] = ["Must not contain NUL characters."]
        return ""
    if len(value) > limit:
        errors[name] = [f"At most {limit} characters (got {len(value)})."]
    elif refused := text.problem(value, single_line=single_line):
        errors[name] = [refused]
        return ""
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
