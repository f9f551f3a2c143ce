"""Pagination that stays cheap on a long history."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows, so a page of a long history never scans every row.

    Below the cap it is Django's paginator. Past it, `count` is `cap` + 1, `capped` is true,
    the page says "10,000+" and the last reachable page is the cap's: narrow the filters
    (team, dates, status) to reach older releases. Measured in docs/benchmarks.md.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        # A sliced queryset counts as SELECT COUNT(*) FROM (... LIMIT cap + 1).
        return self.object_list[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap
