"""Audit events as people read them: with the titles of the checklist items they name.

An event stores an item's key (`deployment.steps-written`); the feed and the timeline show its
title. The titles come from the release's own checklist (its items are copies, never renamed),
read once per page: a dict for one release, one query for a feed of many releases.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Q

from ..models import AuditEvent, ChecklistItem

KEYED_VERBS = ("item.updated", "followup.closed")


class TitledEvents:
    """A release's events, read only when iterated (a cached timeline never asks), with titles."""

    def __init__(self, events, titles: dict[str, str]):
        self._events, self._titles, self._rows = events, titles, None

    def _load(self) -> list[AuditEvent]:
        if self._rows is None:
            self._rows = list(self._events)
            for event in self._rows:
                event.item_titles = self._titles
        return self._rows

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def with_titles(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Events of many releases, each given the titles of the items it names (one query)."""
    events = list(events)
    wanted = {
        (e.release_id, (e.payload or {}).get("key"))
        for e in events
        if e.verb in KEYED_VERBS and e.release_id and (e.payload or {}).get("key")
    }
    titles: dict[int, dict[str, str]] = {}
    if wanted:
        match = Q()
        for release_id, key in wanted:
            match |= Q(release_id=release_id, key=key)
        for release_id, key, title in ChecklistItem.objects.filter(match).values_list(
            "release_id", "key", "title"
        ):
            titles.setdefault(release_id, {})[key] = title
    for event in events:
        event.item_titles = titles.get(event.release_id, {})
    return events
