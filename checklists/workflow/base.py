"""What every workflow function shares: input checks, locking, audit, staleness, blockers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django_guid import get_guid

from .. import text
from ..errors import InvalidInput, NotFound, TransitionError
from ..git import locations
from ..integrations import deliveries
from ..models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    SHA_RE,
    TITLE_MAX,
    VERSION_MAX,
    AuditEvent,
    ChecklistItem,
    Release,
    Repository,
    Team,
    audit,
)
from ..policy import abilities, approvals, permissions

Status = Release.Status
State = ChecklistItem.State

TEXT_LIMITS = {
    "title": TITLE_MAX,
    "version_before": VERSION_MAX,
    "version_after": VERSION_MAX,
    "description": LONG_TEXT_MAX,
    "rollback_plan": LONG_TEXT_MAX,
    "deployment_steps": LONG_TEXT_MAX,
    "known_limitations": LONG_TEXT_MAX,
}
EDITABLE_FIELDS = ("commit", "repository", *TEXT_LIMITS)
# Fields shown on one line: in email subjects, page headings, log lines. A line break
# there splits a mail header (BadHeaderError in the worker) or forges a log line.
SINGLE_LINE_FIELDS = frozenset({"title", "repository", "version_before", "version_after"})


# --- input -----------------------------------------------------------------


class FieldErrors(dict):
    """Each field's problems, collected so that a refusal names every one of them at once."""

    def text(
        self, name: str, value: Any, *, limit: int, required: str = "", single_line: bool | None = None
    ) -> str:
        """One text field as the workflow keeps it; `required` says what to write when it is blank."""
        value = _clean_text(name, value, self, limit=limit, single_line=single_line)
        if required and name not in self and not value.strip():
            self[name] = [required]
        return value

    def refuse(self, message: str) -> None:
        """Raise InvalidInput(message) naming each problem, if there is one."""
        if self:
            raise InvalidInput(message, details=dict(self))


def checked_text(name: str, value: Any, *, limit: int, message: str, required: str = "") -> str:
    """One text field as the workflow keeps it, or InvalidInput(message) naming its problem."""
    errors = FieldErrors()
    value = errors.text(name, value, limit=limit, required=required)
    errors.refuse(message)
    return value


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


def required_reason(value: Any, *, why: str, message: str = "An override needs a reason.") -> str:
    """A non-blank reason (one of EVIDENCE_MAX characters at most); `why` tells what to write."""
    return checked_text("reason", value, limit=EVIDENCE_MAX, message=message, required=why)


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


def resolve_repository(team: Team, value: Any, *, current: Repository | None = None) -> Repository:
    """The team's registered repository that `value` names: its location or its id.

    Anything else is refused with `unknown_repository`: a release never reads a location that
    was not registered for its team (by its owner or staff, checklists/workflow/repositories.py).
    """
    if isinstance(value, Repository):
        value = value.pk
    found = None
    registered = Repository.objects.filter(team=team)
    if isinstance(value, int) and not isinstance(value, bool):
        found = registered.filter(pk=value).first()
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit() and len(text) < 19:
            found = registered.filter(pk=int(text)).first()
        if found is None:
            try:
                canonical = locations.parse(text).canonical
            except locations.InvalidLocation:
                canonical = text
            found = registered.filter(location__in={text, canonical}).first()
    if found is None:
        raise InvalidInput(
            f"Not a repository registered for team {team.slug}: give one of its registered locations "
            "(or its id). The team's owner registers repositories.",
            details={"repository": [f"Not registered for team {team.slug}."]},
            code="unknown_repository",
        )
    if found.archived and found != current:
        raise InvalidInput(
            f"The repository {found.location} is archived; it takes no new releases.",
            details={"repository": ["Archived."]},
            code="unknown_repository",
        )
    return found


def clean_release_data(data: dict, *, partial: bool = False) -> dict:
    """Validate release fields; raise InvalidInput with every field's problem at once."""
    errors = FieldErrors()
    unknown = set(data) - {"kind", *EDITABLE_FIELDS}
    if unknown:
        errors.update({name: ["Unknown or read-only field."] for name in sorted(unknown)})
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data or not partial:
            cleaned[name] = errors.text(name, data.get(name), limit=limit)
    if "title" in cleaned and not cleaned["title"].strip() and "title" not in errors:
        errors["title"] = ["Required."]
    if "repository" in data or not partial:
        value = data.get("repository")
        if value in (None, "") or not isinstance(value, str | int) or isinstance(value, bool):
            errors["repository"] = ["Required: a repository registered for the team (location or id)."]
        else:
            cleaned["repository"] = value  # resolved against the team's registry by the caller
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
    errors.refuse("The release has invalid fields.")
    return cleaned


# --- helpers -----------------------------------------------------------------


def _correlation_id() -> str:
    try:
        return (get_guid() or "")[:64]
    except Exception:  # noqa: BLE001 - the id is a nicety; never fail a change for it
        return ""


def _audit(release: Release | None, actor: User | None, verb: str, **payload) -> AuditEvent:
    # Appended to the hash chain (checklists/models/audit.py), serialised with other writers.
    return audit.append(
        release=release,
        actor=actor if actor and actor.is_authenticated else None,
        verb=verb,
        payload=payload,
        correlation_id=_correlation_id(),
    )


def _lock(release: Release | int) -> Release:
    """Lock the release row, and only that row (docs/reliability.md, "Lock order").

    `of=("self",)` keeps the joined team row unlocked: a new release's foreign-key check
    waits for a share lock on its team at commit, so locking teams here deadlocked creates
    against ticks. NO KEY UPDATE still excludes every other workflow writer of this
    release, but not the key-share locks of rows that merely reference it.
    """
    pk = release.pk if isinstance(release, Release) else release
    try:
        return (
            Release.objects.select_for_update(of=("self",), no_key=True)
            .select_related("team", "repository", "commit_range")
            .get(pk=pk)
        )
    except Release.DoesNotExist:
        raise NotFound("No such release.") from None


def _bump(release: Release, **changes) -> None:
    for name, value in changes.items():
        setattr(release, name, value)
    release.revision += 1
    release.save(update_fields=[*changes, "revision", "updated_at"])
    # Commit statuses, Slack messages and waiting deployments follow every change (logged now,
    # sent by tasks once the transaction commits: checklists/integrations/deliveries.py).
    deliveries.on_release_changed(release)


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
    release.items.signoff().exclude(state=State.OPEN).update(state=State.OPEN, set_by=None, set_at=None)
    return changed


def _scan_statuses(release: Release) -> dict[str, str]:
    return dict(release.scans.filter(current=True, commit=release.commit).values_list("scanner", "status"))


def blocking_items(release: Release, *, for_submit: bool) -> list[dict]:
    """The required items that keep the release from being submitted (or approved)."""
    return abilities.Facts(release).blockers(for_submit=for_submit)


def count_current_approvals(release: Release) -> int:
    """Distinct non-author reviewers, with the reviewer role on the team now, whose approval is
    current and not expired (Team.approval_valid_days); see checklists/policy/approvals.py."""
    return len(approvals.counting_approvals(release))
