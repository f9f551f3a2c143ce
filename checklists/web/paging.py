"""Pagination that stays cheap on a long history."""

import re
from datetime import UTC, datetime

from django.core.paginator import Paginator
from django.utils.functional import cached_property

POSITION = re.compile(r"^\d{1,17}\.\d{1,18}$")


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows, so a page of a long history never scans every row.

    Below the cap it is Django's paginator. Past it, `count` is `cap` + 1, `capped` is true,
    the page says "10,000+" and the last reachable page is the cap's: narrow the filters
    (team, dates, status) to reach older releases. Measured in docs/benchmarks.md.
    """

    cap = 10_000

    def __init__(self, object_list, per_page, *, cap: int | None = None, count_from=None, **kwargs):
        """`count_from`: the same rows as a plainer queryset (no joins for display) to count."""
        super().__init__(object_list, per_page, **kwargs)
        if cap is not None:
            self.cap = cap
        self.count_from = object_list if count_from is None else count_from

    @cached_property
    def count(self) -> int:
        # A sliced queryset counts as SELECT COUNT(*) FROM (... LIMIT cap + 1). Which rows the
        # LIMIT keeps does not change how many there are, so the order is dropped: sorted by a
        # column without an index, it made PostgreSQL sort every matching row to count them.
        return self.count_from.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class InvalidPosition(ValueError):
    pass


def encode_position(release) -> str:
    """A row's place in newest-first order: its creation time (microseconds) and id.

    `release`: a Release or a named row with `created_at` and `id`.
    """
    stamp = release.created_at
    micros = int(stamp.timestamp()) * 1_000_000 + stamp.microsecond
    return f"{micros}.{release.id}"


def decode_position(text: str):
    if not POSITION.fullmatch(text or ""):
        raise InvalidPosition(text)
    micros, pk = (int(part) for part in text.split("."))
    try:
        stamp = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    except (OverflowError, OSError, ValueError):
        raise InvalidPosition(text) from None
    return stamp, pk


class KeysetPage:
    """A page of the newest-first history found from a position, never by counting rows off.

    "Older" continues after the last row shown (`after=`), "Newer" before the first one
    (`before=`): each page is an index range scan of `size` + 1 rows, however deep it is
    (an OFFSET walks every row before it). The total is still the capped count.
    """

    # Paging by position never needs the total, only the page says how many rows match: a
    # smaller cap keeps that count cheap (1,001 index entries instead of 10,001 at 100,000
    # releases; docs/benchmarks.md), and "more than 1,000" says as much to a reader.
    count_cap = 1_000

    def __init__(self, queryset, size: int, *, after: str = "", before: str = "", count_from=None):
        self.paginator = CappedPaginator(queryset, size, cap=self.count_cap, count_from=count_from)
        newest_first = queryset.order_by("-created_at", "-id")
        if after:
            stamp, pk = decode_position(after)
            rows = list(
                newest_first.filter(created_at__lte=stamp).exclude(created_at=stamp, pk__gte=pk)[: size + 1]
            )
            self.has_previous, self.has_next = True, len(rows) > size
            rows = rows[:size]
        elif before:
            stamp, pk = decode_position(before)
            oldest_first = queryset.order_by("created_at", "id")
            rows = list(
                oldest_first.filter(created_at__gte=stamp).exclude(created_at=stamp, pk__lte=pk)[: size + 1]
            )
            self.has_previous, self.has_next = len(rows) > size, True
            rows = rows[:size][::-1]
        else:
            rows = list(newest_first[: size + 1])
            self.has_previous, self.has_next = False, len(rows) > size
            rows = rows[:size]
        self.object_list = rows
        self.keyset = True

    @property
    def next_position(self) -> str:
        return encode_position(self.object_list[-1]) if self.has_next and self.object_list else ""

    @property
    def previous_position(self) -> str:
        return encode_position(self.object_list[0]) if self.has_previous and self.object_list else ""

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)
