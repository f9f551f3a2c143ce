"""Delivery metrics for managers, as plain functions of a queryset of releases."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from ..models import ChecklistItem, FollowUp, Release, ScanRun, satisfied_by

Status = Release.Status


def releases_per_week(releases: QuerySet[Release]) -> list[dict]:
    """Releases created per ISO week (Monday), split by kind, oldest week first."""
    rows = (
        releases.order_by()
        .annotate(week=TruncWeek("created_at"))
        .values("week", "kind")
        .annotate(n=Count("id"))
        .order_by("week")
    )
    weeks: dict[date, dict] = {}
    for row in rows:
        week = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        entry = weeks.setdefault(week, {"week": week, **{kind: 0 for kind in Release.Kind.values}})
        entry[row["kind"]] += row["n"]
    return list(weeks.values())


def hotfix_share(releases: QuerySet[Release]) -> float | None:
    """Share of hotfixes among releases that were not cancelled; None when there are none."""
    counted = releases.exclude(status=Status.CANCELLED).order_by()
    totals = counted.aggregate(total=Count("id"), hotfixes=Count("id", filter=Q(kind=Release.Kind.HOTFIX)))
    if not totals["total"]:
        return None
    return totals["hotfixes"] / totals["total"]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value below which `fraction` of the values lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def approval_durations(releases: QuerySet[Release]) -> list[timedelta]:
    """Time from submit to approval of each release that got approved."""
    pairs = releases.filter(submitted_at__isnull=False, approved_at__isnull=False).values_list(
        "submitted_at", "approved_at"
    )
    return [approved - submitted for submitted, approved in pairs if approved >= submitted]


def time_to_approval(releases: QuerySet[Release]) -> dict:
    """Median and 90th percentile of submit -> approval, as timedeltas (None without data)."""
    durations = approval_durations(releases)
    seconds = [d.total_seconds() for d in durations]
    median = percentile(seconds, 0.5)
    p90 = percentile(seconds, 0.9)
    return {
        "count": len(durations),
        "median": None if median is None else timedelta(seconds=median),
        "p90": None if p90 is None else timedelta(seconds=p90),
    }


def change_failure_rate(releases: QuerySet[Release]) -> float | None:
    """Rolled back / (deployed + rolled back); None before anything was deployed."""
    counts = releases.order_by().aggregate(
        deployed=Count("id", filter=Q(status=Status.DEPLOYED)),
        rolled_back=Count("id", filter=Q(status=Status.ROLLED_BACK)),
    )
    shipped = counts["deployed"] + counts["rolled_back"]
    if not shipped:
        return None
    return counts["rolled_back"] / shipped


def most_waived_items(releases: QuerySet[Release], limit: int = 5) -> list[dict]:
    """Checklist items most often waived, with how often."""
    return list(
        ChecklistItem.objects.filter(release__in=releases, state=ChecklistItem.State.WAIVED)
        .values("key", "title")
        .annotate(n=Count("id"))
        .order_by("-n", "key")[:limit]
    )


def most_failed_items(releases: QuerySet[Release], limit: int = 5) -> list[dict]:
    """Checklist items whose automated check failed most often (every failed scan run counts)."""
    failed = (
        ScanRun.objects.filter(release__in=releases, status=ScanRun.Status.FAILED)
        .values("scanner")
        .annotate(n=Count("id"))
        .order_by("-n", "scanner")[:limit]
    )
    titles = dict(
        ChecklistItem.objects.scans([row["scanner"] for row in failed])
        .filter(release__in=releases)
        .values_list("satisfied_by", "title")
        .distinct()
    )
    return [
        {
            "scanner": row["scanner"],
            "title": titles.get(satisfied_by.scan(row["scanner"]), row["scanner"]),
            "n": row["n"],
        }
        for row in failed
    ]


def waiver_debt(releases: QuerySet[Release]) -> dict:
    """Open follow-ups of hotfix waivers (docs/rules.md): how many, how many overdue, the oldest first."""
    found = FollowUp.objects.open().filter(release__in=releases).select_related("owner", "team")
    rows = list(found.order_by("due_date", "id")[:20])
    counts = found.order_by().aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_date__lt=timezone.localdate()))
    )
    return {**counts, "items": rows}


@dataclass
class Summary:
    label: str
    releases: int
    hotfix_share: float | None
    time_to_approval: dict
    change_failure_rate: float | None
    per_week: list[dict] = field(default_factory=list)
    most_waived: list[dict] = field(default_factory=list)
    most_failed: list[dict] = field(default_factory=list)
    waiver_debt: dict = field(default_factory=dict)


def summarize(label: str, releases: QuerySet[Release], *, detailed: bool = False) -> Summary:
    """Every metric of one scope (a team, or all teams)."""
    summary = Summary(
        label=label,
        releases=releases.order_by().count(),
        hotfix_share=hotfix_share(releases),
        time_to_approval=time_to_approval(releases),
        change_failure_rate=change_failure_rate(releases),
    )
    if detailed:
        summary.per_week = releases_per_week(releases)
        summary.most_waived = most_waived_items(releases)
        summary.most_failed = most_failed_items(releases)
        summary.waiver_debt = waiver_debt(releases)
    return summary


def chart_data(summary: Summary) -> dict:
    """What the metrics page's charts draw, as JSON-ready values."""
    return {
        "weeks": [row["week"].isoformat() for row in summary.per_week],
        "per_kind": {kind: [row[kind] for row in summary.per_week] for kind in Release.Kind.values},
        "waived": {
            "labels": [row["key"] for row in summary.most_waived],
            "values": [row["n"] for row in summary.most_waived],
        },
        "failed": {
            "labels": [row["scanner"] for row in summary.most_failed],
            "values": [row["n"] for row in summary.most_failed],
        },
    }
