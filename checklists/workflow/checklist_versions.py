"""A team's checklist, versioned: its owners edit a draft, compare it, and publish it.

- A draft is a ChecklistTemplate row with status `draft` and the team set (one per team). It
  starts as a copy of the version the team uses now. When that version is shared (the built-in
  default, or another team's), the draft gets the team's own slug, so publishing never changes
  another team's checklist.
- Publishing makes the draft the team's template. Releases already open keep the items they
  were created with (a copy, DESIGN "Domain"); new releases start from the new version.
- YAML export and import stay (checklists/checklist_format/files.py): an import replaces the draft's items.

Each function locks the team row like checklists/workflow/teams.py and writes one audit event
`team.checklist_*` with `before` and `after`.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Max
from django.utils import timezone

from ..checklist_format.diff import diff_items, item_dict
from ..checklist_format.files import CATEGORIES, ChecklistFileError, parse_checklist
from ..errors import InvalidInput, NotFound, TransitionError
from ..models import ChecklistTemplate, Team, TemplateItem, satisfied_by
from .base import FieldErrors, _audit
from .teams import _lock_team, _require_manager
from .transactions import write_transaction

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
HELP_MAX = 2000
MAX_ITEMS = 200


def _label(template: ChecklistTemplate) -> dict:
    return {"slug": template.slug, "version": template.version, "name": template.name}


def in_use(team: Team) -> ChecklistTemplate:
    """The published version new releases of the team start from."""
    return team.template or ChecklistTemplate.default()


def draft_of(team: Team) -> ChecklistTemplate | None:
    return ChecklistTemplate.objects.filter(team=team, status=ChecklistTemplate.Status.DRAFT).first()


def _own_slug(team: Team) -> str:
    """A slug for the team's own checklist that no other team's (or shared) checklist uses."""
    base = f"{team.slug}-checklist"[:50]
    slug, n = base, 1
    while ChecklistTemplate.objects.filter(slug=slug).exclude(team=team).exists():
        n += 1
        slug = f"{base[: 50 - len(str(n)) - 1]}-{n}"
    return slug


def _next_version(slug: str) -> int:
    return (ChecklistTemplate.objects.filter(slug=slug).aggregate(top=Max("version"))["top"] or 0) + 1


def _require_draft(team: Team) -> ChecklistTemplate:
    draft = draft_of(team)
    if draft is None:
        raise TransitionError("The team has no draft checklist: start one first.", code="no_draft")
    return draft


def _ensure_draft(team: Team) -> tuple[ChecklistTemplate, bool]:
    """The team's draft, created from the version in use if there is none. (draft, created)."""
    draft = draft_of(team)
    if draft is not None:
        return draft, False
    current = in_use(team)
    owned = current.team_id == team.pk
    slug = current.slug if owned else _own_slug(team)
    draft = ChecklistTemplate.objects.create(
        slug=slug,
        name=current.name if owned else f"{team.name} checklist",
        version=_next_version(slug),
        status=ChecklistTemplate.Status.DRAFT,
        team=team,
        based_on=current,
    )
    TemplateItem.objects.bulk_create(
        TemplateItem(template=draft, **item_dict(item), order=item.order) for item in current.items.all()
    )
    return draft, True


def _items(template: ChecklistTemplate) -> list[TemplateItem]:
    return list(template.items.order_by("order", "id"))


def _renumber(items: list[TemplateItem]) -> None:
    for position, item in enumerate(items, start=1):
        if item.order != position:
            item.order = position
            item.save(update_fields=["order"])


@write_transaction
def start_draft(team: Team | str, *, actor: User | None) -> ChecklistTemplate:
    """Open a draft of the team's checklist (a copy of the version in use), or return the open one."""
    team = _lock_team(team)
    _require_manager(actor, team)
    draft, created = _ensure_draft(team)
    if created:
        _audit(
            None,
            actor,
            "team.checklist_draft_started",
            team=team.slug,
            before=None,
            after={**_label(draft), "based_on": _label(draft.based_on)},
        )
    return draft


def clean_item(data: dict, *, existing: list[TemplateItem], editing: TemplateItem | None) -> dict:
    """Validate one item's fields; raise InvalidInput naming each problem."""
    errors = FieldErrors()
    cleaned: dict[str, Any] = {}
    key = data.get("key")
    key = key.strip() if isinstance(key, str) else ""
    if editing is not None and key == editing.key:
        pass  # an imported key that the page would not accept stays as it is
    elif not KEY_RE.fullmatch(key):
        errors["key"] = ["Up to 100 letters, digits, dots, dashes and underscores (e.g. security.pen-test)."]
    elif any(i.key == key for i in existing if i is not editing):
        errors["key"] = ["Another item has this key."]
    cleaned["key"] = key
    category = data.get("category")
    if category not in CATEGORIES:
        errors["category"] = [f"One of {', '.join(CATEGORIES)}."]
    cleaned["category"] = category
    title = data.get("title")
    title = title.strip() if isinstance(title, str) else ""
    if not 1 <= len(title) <= 200:
        errors["title"] = ["A title of 1 to 200 characters."]
    cleaned["title"] = title
    help_text = data.get("help") or ""
    if not isinstance(help_text, str) or len(help_text) > HELP_MAX or "\x00" in help_text:
        errors["help"] = [f"At most {HELP_MAX} characters."]
    cleaned["help"] = help_text if isinstance(help_text, str) else ""
    how = data.get("satisfied_by") or satisfied_by.MANUAL
    if not isinstance(how, str) or not satisfied_by.is_valid(how):
        errors["satisfied_by"] = ["manual, signoff, field:<release field> or scan:<scanner>."]
    else:
        twins = [i for i in existing if i is not editing and i.satisfied_by == how]
        if twins and satisfied_by.kind(how) not in satisfied_by.SHAREABLE:
            errors["satisfied_by"] = [f"The item {twins[0].key} is satisfied by {how} already."]
    cleaned["satisfied_by"] = how
    cleaned["required"] = data.get("required") is True
    cleaned["waivable"] = data.get("waivable") is True
    if cleaned["waivable"] and satisfied_by.kind(str(how)) in satisfied_by.NEVER_WAIVABLE:
        errors["waivable"] = ["A sign-off can never be waived."]
    errors.refuse("The checklist item is invalid; nothing was changed.")
    return cleaned


@write_transaction
def save_draft_item(
    team: Team | str, *, actor: User | None, data: dict, key: str | None = None
) -> TemplateItem:
    """Add an item to the draft (key None), or change the draft's item `key`."""
    team = _lock_team(team)
    _require_manager(actor, team)
    draft, started = _ensure_draft(team)
    items = _items(draft)
    editing = None
    if key is not None:
        editing = next((i for i in items if i.key == key), None)
        if editing is None:
            raise NotFound(f"The draft has no item {key!r}.")
    elif len(items) >= MAX_ITEMS:
        raise InvalidInput(f"A checklist holds at most {MAX_ITEMS} items.")
    cleaned = clean_item(data, existing=items, editing=editing)
    before = item_dict(editing) if editing else None
    if editing is None:
        item = TemplateItem.objects.create(template=draft, order=len(items) + 1, **cleaned)
    else:
        for name, value in cleaned.items():
            setattr(editing, name, value)
        if item_dict(editing) == before:
            return editing
        editing.save(update_fields=list(cleaned))
        item = editing
    _audit(
        None,
        actor,
        "team.checklist_item_saved",
        team=team.slug,
        draft=str(draft),
        draft_started=started,
        before=before,
        after=item_dict(item),
    )
    return item


@write_transaction
def remove_draft_item(team: Team | str, *, actor: User | None, key: str) -> None:
    team = _lock_team(team)
    _require_manager(actor, team)
    draft = _require_draft(team)
    items = _items(draft)
    found = next((i for i in items if i.key == key), None)
    if found is None:
        raise NotFound(f"The draft has no item {key!r}.")
    before = item_dict(found)
    found.delete()
    _renumber([i for i in items if i is not found])
    _audit(
        None,
        actor,
        "team.checklist_item_removed",
        team=team.slug,
        draft=str(draft),
        before=before,
        after=None,
    )


@write_transaction
def move_draft_item(team: Team | str, *, actor: User | None, key: str, direction: str) -> None:
    """Move an item one place up or down in the draft."""
    team = _lock_team(team)
    _require_manager(actor, team)
    if direction not in ("up", "down"):
        raise InvalidInput("Move up or down.", details={"direction": ["up or down."]})
    draft = _require_draft(team)
    items = _items(draft)
    index = next((n for n, i in enumerate(items) if i.key == key), None)
    if index is None:
        raise NotFound(f"The draft has no item {key!r}.")
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return  # already first (or last): nothing changes, nothing is audited
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    _audit(
        None,
        actor,
        "team.checklist_item_moved",
        team=team.slug,
        draft=str(draft),
        key=key,
        before={"position": index + 1},
        after={"position": other + 1},
    )


@write_transaction
def import_draft(team: Team | str, *, actor: User | None, text: str) -> ChecklistTemplate:
    """Replace the draft's items (and name) with a YAML file's (the format of export_template)."""
    team = _lock_team(team)
    _require_manager(actor, team)
    try:
        spec = parse_checklist(text)
    except ChecklistFileError as exc:
        raise InvalidInput(f"The file is not a checklist: {exc}.", details={"file": [str(exc)]}) from None
    if len(spec.items) > MAX_ITEMS:
        raise InvalidInput(
            f"A checklist holds at most {MAX_ITEMS} items.", details={"file": ["Too many items."]}
        )
    draft, started = _ensure_draft(team)
    before = [i.key for i in _items(draft)]
    draft.items.all().delete()
    TemplateItem.objects.bulk_create(
        TemplateItem(
            template=draft,
            key=item.key,
            category=item.category,
            title=item.title,
            help=item.help,
            order=order,
            required=item.required,
            waivable=item.waivable,
            satisfied_by=item.satisfied_by,
        )
        for order, item in enumerate(spec.items, start=1)
    )
    if spec.name[:100] != draft.name:
        draft.name = spec.name[:100]
        draft.save(update_fields=["name"])
    _audit(
        None,
        actor,
        "team.checklist_imported",
        team=team.slug,
        draft=str(draft),
        draft_started=started,
        before={"items": before},
        after={"items": [i.key for i in spec.items], "name": draft.name},
    )
    return draft


@write_transaction
def discard_draft(team: Team | str, *, actor: User | None) -> None:
    team = _lock_team(team)
    _require_manager(actor, team)
    draft = _require_draft(team)
    before = {"draft": str(draft), "items": [i.key for i in _items(draft)]}
    draft.items.all().delete()
    draft.delete()
    _audit(None, actor, "team.checklist_draft_discarded", team=team.slug, before=before, after=None)


def publish_problems(items: list[TemplateItem]) -> list[str]:
    """What keeps a draft from being published ('' when nothing)."""
    problems = []
    if not items:
        problems.append("A checklist needs at least one item.")
    seen: dict[str, str] = {}
    for item in items:
        if item.satisfied_by in seen and satisfied_by.kind(item.satisfied_by) not in satisfied_by.SHAREABLE:
            problems.append(
                f"{item.key} and {seen[item.satisfied_by]} are both satisfied by {item.satisfied_by}."
            )
        seen.setdefault(item.satisfied_by, item.key)
    return problems


@write_transaction
def publish_draft(team: Team | str, *, actor: User | None) -> ChecklistTemplate:
    """Make the draft the checklist new releases of the team start from."""
    team = _lock_team(team)
    _require_manager(actor, team)
    draft = _require_draft(team)
    items = _items(draft)
    if problems := publish_problems(items):
        raise InvalidInput(
            "The draft cannot be published: " + " ".join(problems), details={"draft": problems}
        )
    current = in_use(team)
    changes = diff_items(_items(current), items)
    draft.status = ChecklistTemplate.Status.PUBLISHED
    draft.published_at, draft.published_by = timezone.now(), actor
    draft.save(update_fields=["status", "published_at", "published_by"])
    team.template = draft
    team.save(update_fields=["template"])
    _audit(
        None,
        actor,
        "team.checklist_published",
        team=team.slug,
        before=_label(current),
        after=_label(draft),
        changes=changes,
    )
    return draft
