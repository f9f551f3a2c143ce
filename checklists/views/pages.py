"""Dashboard, history (with CSV export), metrics, exception queue and profile."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token

from ..errors import NotAllowed
from ..models import AuditEvent, ChecklistItem, FollowUp, Membership, Release, ScanRun, SignOff, SlackAccount
from ..policy import permissions
from ..web import activity, delivery_metrics
from ..web.filters import HistoryFilter
from ..web.paging import CappedPaginator, InvalidPosition, KeysetPage
from ..workflow.preferences import email_events_of
from .common import refusal
from .email_preferences import EmailPreferencesForm

Status = Release.Status
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


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    teams = permissions.readable_teams(user)
    reviewer_of = Membership.objects.filter(user=user, role=Membership.Role.REVIEWER).values("team_id")
    my_signoff = SignOff.objects.filter(release=OuterRef("pk"), reviewer=user, stale=False)
    context = {
        "drafts": Release.objects.with_related().filter(author=user, status=Status.DRAFT),
        "mine_in_flight": Release.objects.with_related().filter(
            author=user, status__in=[Status.IN_REVIEW, Status.APPROVED]
        ),
        "awaiting_review": Release.objects.with_related()
        .filter(status=Status.IN_REVIEW, team_id__in=reviewer_of)
        .exclude(author=user)
        .exclude(Exists(my_signoff))
        .order_by("submitted_at"),
        "events": activity.with_titles(
            AuditEvent.objects.filter(release__team__in=teams)
            .select_related("actor", "release", "release__team")
            .order_by("-created_at", "-id")[:15]
        ),
        "scan_errors": _exceptions(teams).select_related("release", "release__team", "owner")[:10],
        # Waived on a hotfix not submitted yet: not debt yet (follow-ups list the rest, once).
        "waived_items": ChecklistItem.objects.filter(
            state=ChecklistItem.State.WAIVED, release__team__in=teams
        )
        .exclude(release__status=Status.CANCELLED)
        .exclude(Exists(FollowUp.objects.filter(release_id=OuterRef("release_id"), item_key=OuterRef("key"))))
        .select_related("release", "release__team")
        .order_by("-set_at")[:10],
        "today": timezone.localdate(),
        "followups": FollowUp.objects.open()
        .filter(team__in=teams)
        .select_related("release", "team", "owner")
        .order_by("due_date", "id")[:20],
        "has_team": permissions.writable_teams(user).exists(),
    }
    return render(request, "checklists/dashboard.html", context)


def _history_filter(request: HttpRequest) -> HistoryFilter:
    teams = permissions.readable_teams(request.user).order_by("name")
    releases = permissions.readable_releases(request.user).with_related()
    return HistoryFilter(request.GET, queryset=releases, teams=teams)


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
    filterset = _history_filter(request)
    context = {"filter": filterset, "sort": request.GET.get("o", ""), "columns": HISTORY_COLUMNS}
    errors = filter_errors(filterset) if not filterset.is_valid() else []
    page = None
    if not errors:
        after, before = request.GET.get("after", ""), request.GET.get("before", "")
        try:
            if not context["sort"] and "page" not in request.GET:
                page = KeysetPage(filterset.qs, HISTORY_PAGE_SIZE, after=after, before=before)
            else:
                page = CappedPaginator(filterset.qs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
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


@login_required
@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.is_superuser or permissions.is_manager(user)):
        return refusal(request, NotAllowed("Metrics are for managers."))
    teams = list(permissions.readable_teams(user).order_by("name"))
    chosen = next((team for team in teams if team.slug == request.GET.get("team")), None)
    scope = Release.objects.filter(team=chosen) if chosen else Release.objects.all()
    summary = delivery_metrics.summarize(chosen.name if chosen else "All teams", scope, detailed=True)
    rows = [delivery_metrics.summarize(team.name, Release.objects.filter(team=team)) for team in teams]
    rows.append(delivery_metrics.summarize("All teams", Release.objects.all()))
    return render(
        request,
        "checklists/metrics.html",
        {
            "teams": teams,
            "chosen": chosen,
            "summary": summary,
            "rows": rows,
            "chart_data": delivery_metrics.chart_data(summary),
        },
    )


def _exceptions(teams):
    return ScanRun.objects.exceptions().filter(release__team__in=teams)


@login_required
@require_GET
def exception_queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    runs = list(
        _exceptions(permissions.readable_teams(user))
        .select_related("release", "release__team", "owner")
        .order_by("release__team__name", "queued_at")
    )
    now = timezone.now()
    for run in runs:
        run.age = now - (run.finished_at or run.queued_at)
    writable = set(permissions.writable_teams(user).values_list("pk", flat=True))
    return render(request, "checklists/exceptions.html", {"runs": runs, "writable": writable})


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "token": Token.objects.filter(user=user).first(),
        "memberships": Membership.objects.filter(user=user).select_related("team").order_by("team__name"),
        "is_manager": permissions.is_manager(user),
        "email_form": EmailPreferencesForm(initial={"events": email_events_of(user)}),
        "slack_account": SlackAccount.objects.filter(user=user).first(),
    }
    return render(request, "checklists/profile.html", context)


@login_required
@require_POST
def rotate_token(request: HttpRequest) -> HttpResponse:
    """Replace the user's API token: the old one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
    messages.success(request, "A new API token was created; the old one no longer works.")
    return redirect("checklists:profile")
