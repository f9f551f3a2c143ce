"""Checklists as YAML files: the seed (pre_release.yaml) and teams' own, read, stored and written.

A stored version of a checklist is a ChecklistTemplate with its TemplateItems; `manage.py
load_template` / `export_template` and the team's checklist page read and write these files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..models import TemplateItem, satisfied_by
from ..text import problem

SEED_CHECKLIST = Path(__file__).parent / "pre_release.yaml"
CATEGORIES = tuple(TemplateItem.Category.values)


class ChecklistFileError(ValueError):
    pass


@dataclass(frozen=True)
class ItemSpec:
    key: str
    category: str
    title: str
    help: str
    required: bool
    waivable: bool
    satisfied_by: str


@dataclass(frozen=True)
class ChecklistSpec:
    slug: str
    name: str
    items: tuple[ItemSpec, ...]


def parse_checklist(text: str) -> ChecklistSpec:
    """Parse and validate a checklist file; raise ChecklistFileError naming the first problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChecklistFileError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ChecklistFileError("the file must be a mapping with slug, name and items")
    slug, name, raw_items = data.get("slug"), data.get("name"), data.get("items")
    if not isinstance(slug, str) or not slug:
        raise ChecklistFileError("slug is missing")
    if not isinstance(name, str) or not name:
        raise ChecklistFileError("name is missing")
    if refused := problem(name, single_line=True):
        raise ChecklistFileError(f"name: {refused}")
    if not isinstance(raw_items, list) or not raw_items:
        raise ChecklistFileError("items must be a non-empty list")
    items, seen = [], set()
    for number, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, dict):
            raise ChecklistFileError(f"item {number} is not a mapping")
        key = raw.get("key")
        if not isinstance(key, str) or not key or len(key) > 100:
            raise ChecklistFileError(f"item {number} needs a key of at most 100 characters")
        if key in seen:
            raise ChecklistFileError(f"key {key} appears twice")
        seen.add(key)
        category = raw.get("category")
        if category not in CATEGORIES:
            raise ChecklistFileError(f"{key}: category must be one of {', '.join(CATEGORIES)}")
        how = raw.get("satisfied_by", satisfied_by.MANUAL)
        if not isinstance(how, str) or not satisfied_by.is_valid(how):
            raise ChecklistFileError(f"{key}: satisfied_by {how!r} is not manual, field:, scan: or signoff")
        title = raw.get("title")
        if not isinstance(title, str) or not title or len(title) > 200:
            raise ChecklistFileError(f"{key}: title is missing or longer than 200 characters")
        if refused := problem(title, single_line=True):
            raise ChecklistFileError(f"{key}: title: {refused}")
        waivable = bool(raw.get("waivable", False))
        if satisfied_by.kind(how) in satisfied_by.NEVER_WAIVABLE and waivable:
            raise ChecklistFileError(f"{key}: a sign-off item can never be waived")
        items.append(
            ItemSpec(
                key=key,
                category=category,
                title=title,
                help=str(raw.get("help", "")),
                required=bool(raw.get("required", True)),
                waivable=waivable,
                satisfied_by=how,
            )
        )
    return ChecklistSpec(slug=slug, name=name, items=tuple(items))


def store_checklist(spec: ChecklistSpec, template_model, item_model, *, is_default: bool = False):
    """Save spec as the next version of its slug; earlier versions and releases' copies stay."""
    latest = template_model.objects.filter(slug=spec.slug).order_by("-version").first()
    version = latest.version + 1 if latest else 1
    if is_default:
        template_model.objects.filter(is_default=True).update(is_default=False)
    template = template_model.objects.create(
        slug=spec.slug, name=spec.name, version=version, is_default=is_default
    )
    item_model.objects.bulk_create(
        item_model(
            template=template,
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
    return template


def dump_checklist(template) -> str:
    """Write a stored template back as YAML that parse_checklist reads."""
    data = {
        "slug": template.slug,
        "name": template.name,
        "items": [
            {
                "key": item.key,
                "category": item.category,
                "title": item.title,
                "help": item.help,
                "required": item.required,
                "waivable": item.waivable,
                "satisfied_by": item.satisfied_by,
            }
            for item in template.items.order_by("order")
        ],
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
