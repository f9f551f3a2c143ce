"""What a draft checklist changes against the version it started from: items added, removed,
changed (field by field) and moved. Read-only; the team's checklist page and the audit of a
publish show it."""

from __future__ import annotations

from collections.abc import Iterable

ITEM_FIELDS = ("category", "title", "help", "required", "waivable", "satisfied_by")


def item_dict(item) -> dict:
    """The fields of a TemplateItem (or anything with the same attributes) that a diff compares."""
    return {"key": item.key, **{name: getattr(item, name) for name in ITEM_FIELDS}}


def diff_items(before: Iterable, after: Iterable) -> list[dict]:
    """Each difference as {"change": added|removed|changed|moved, "key", "title", ...}, in the new order."""
    old = [item_dict(i) for i in before]
    new = [item_dict(i) for i in after]
    old_by_key = {i["key"]: i for i in old}
    new_keys = [i["key"] for i in new]
    changes: list[dict] = []
    # Order is compared among the items both versions share, so an insertion moves nothing.
    shared_old = [i["key"] for i in old if i["key"] in set(new_keys)]
    shared_new = [k for k in new_keys if k in old_by_key]
    for position, item in enumerate(new, start=1):
        key = item["key"]
        if key not in old_by_key:
            changes.append({"change": "added", "key": key, "title": item["title"], "position": position})
            continue
        fields = {
            name: {"from": old_by_key[key][name], "to": item[name]}
            for name in ITEM_FIELDS
            if old_by_key[key][name] != item[name]
        }
        if fields:
            changes.append({"change": "changed", "key": key, "title": item["title"], "fields": fields})
        if shared_old.index(key) != shared_new.index(key):
            changes.append(
                {
                    "change": "moved",
                    "key": key,
                    "title": item["title"],
                    "from": shared_old.index(key) + 1,
                    "to": shared_new.index(key) + 1,
                }
            )
    for item in old:
        if item["key"] not in set(new_keys):
            changes.append({"change": "removed", "key": item["key"], "title": item["title"]})
    return changes
