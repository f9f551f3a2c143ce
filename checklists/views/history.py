"""The history of every release one may read: filters, sorting, keyset paging and the CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib.auth.decorators import login_required
from django.db.models import F, Prefetch
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..models import ChecklistItem, Release, SignOff
from ..policy import permissions
from ..web.filters import HistoryFilter
from ..web.paging import CappedPaginator, InvalidPosition, KeysetPage

HISTORY_PAGE_SIZE = 25
HISTORY_COLUMNS = (
    ("id", "#"),
    ("title", "Title"),
    ("team", "Team"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("author", "Author"),
    ("created", "Created"),
    ("approved", "Approved"),
    ("deployed", "Deployed"),
)


CSV_COLUMNS = (
    ("id", lambda r: r.pk),
    ("team", lambda r: r.team.slug),
    ("title", lambda r: r.title),
    ("kind", lambda r: r.kind),
    ("status", lambda r: r.status),
    ("author", lambda r: r.author.username),
    ("repository", lambda r: r.repository.location),
    ("commit", lambda r: r.commit),
    ("version_before", lambda r: r.version_before),
    ("version_after", lambda r: r.version_after),
    ("created_at", lambda r: r.created_at),
    ("submitted_at", lambda r: r.submitted_at),
    ("approved_at", lambda r: r.approved_at),
    ("deployed_at", lambda r: r.deployed_at),
    ("rolled_back_at", lambda r: r.rolled_back_at),
    ("rollback_reason", lambda r: r.rollback_reason),
    # Who approved it (the approvals that are current), and what was waived, with why.
    ("approvers", lambda r: "; ".join(s.reviewer.get_username() for s in r.csv_approvals)),
    ("waivers", lambda r: "; ".join(f"{i.title}: {i.reason}" for i in r.csv_waivers)),
)


# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# What a history row shows (checklists/templatetags/releasegate.py `history_rows`), read as
# plain tuples: no model instances, no teams' JSON settings, no releases' long texts.
ROW_FIELDS = (
    "id", "title", "kind", "status", "created_at", "approved_at", "deployed_at", "team_name", "author_name",
)  # fmt: skip


def _history_filter(request: HttpRequest, *, rows_only: bool = False) -> HistoryFilter:
    teams = permissions.readable_teams(request.user).order_by("name").values_list("slug", "name")
    releases = permissions.readable_releases(request.user)
    if not rows_only:
        releases = releases.with_related()
    return HistoryFilter(request.GET, queryset=releases, teams=teams)


def history_row_values(releases):
    """The filtered releases as named rows of ROW_FIELDS (what one history row shows)."""
    return releases.annotate(team_name=F("team__name"), author_name=F("author__username")).values_list(
        *ROW_FIELDS, named=True
    )


def rows_of(ids) -> list:
    """The history rows of these release ids, in their order.

    A numbered page far down the history is found by ids alone (an index walk past the
    OFFSET), and only its 25 rows are joined to their team and author: joining every row
    the OFFSET skips cost most of a deep page's time (docs/benchmarks.md).
    """
    ids = list(ids)
    by_id = {row.id: row for row in history_row_values(Release.objects.filter(pk__in=ids))}
    return [by_id[pk] for pk in ids if pk in by_id]


def filter_errors(filterset: HistoryFilter) -> list[tuple[str, list[str]]]:
    """Each wrong filter by the label people see, with what is wrong with it."""
    form = filterset.form
    return [
        (form.fields[name].label if name in form.fields else name, [str(e) for e in errors])
        for name, errors in form.errors.items()
    ]


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The history: filtered, sorted, paged. A wrong filter is named (400), never ignored.

    Newest first (the default order) pages by position (`after=`/`before=`: keyset paging,
    as fast on the last page as on the first); another order pages by number, capped.
    """
    filterset = _history_filter(request, rows_only=True)
    context = {"filter": filterset, "sort": request.GET.get("o", ""), "columns": HISTORY_COLUMNS}
    errors = filter_errors(filterset) if not filterset.is_valid() else []
    page = None
    if not errors:
        after, before = request.GET.get("after", ""), request.GET.get("before", "")
        try:
            releases = filterset.qs
            if not context["sort"] and "page" not in request.GET:
                rows = history_row_values(releases)
                page = KeysetPage(rows, HISTORY_PAGE_SIZE, after=after, before=before, count_from=releases)
            else:
                ids = releases.values_list("id", flat=True)
                page = CappedPaginator(ids, HISTORY_PAGE_SIZE, count_from=releases).get_page(
                    request.GET.get("page")
                )
                page.object_list = rows_of(page.object_list)
        except InvalidPosition:
            errors = [("Page position", ["Not a position this page gave; start again from the first page."])]
    if errors:
        return render(request, "checklists/history.html", {**context, "errors": errors}, status=400)
    return render(request, "checklists/history.html", {**context, "page": page})


def csv_safe(value) -> str:
    """A cell value a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(releases: Iterable[Release]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in CSV_COLUMNS])
    for release in releases:
        yield writer.writerow([csv_safe(get(release)) for _, get in CSV_COLUMNS])


@login_required
@require_GET
def history_csv(request: HttpRequest) -> HttpResponse:
    """The filtered history as CSV (same filters and order as the page, every row)."""
    filterset = _history_filter(request)
    if not filterset.is_valid():
        lines = [f"{label}: {' '.join(msgs)}" for label, msgs in filter_errors(filterset)]
        return HttpResponse(
            "The history was not exported; fix these filters:\n" + "\n".join(lines) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    releases = filterset.qs.prefetch_related(
        Prefetch(
            "signoffs",
            queryset=SignOff.objects.current_approvals()
            .select_related("reviewer")
            .order_by("created_at", "id"),
            to_attr="csv_approvals",
        ),
        Prefetch(
            "items",
            queryset=ChecklistItem.objects.filter(state=ChecklistItem.State.WAIVED).order_by("order"),
            to_attr="csv_waivers",
        ),
    ).iterator(chunk_size=500)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_rows(releases), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="releasegate-history-{stamp}.csv"'
    return response
