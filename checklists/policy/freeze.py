"""Deploy freeze windows per team. During one, the gate stays shut and deploy is refused;
a hotfix passes only once a reviewer gave an override reason (workflow.override_freeze)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..models import FreezeOverride, FreezeWindow, Release


def active_windows(team_id: int, *, now: datetime | None = None) -> list[FreezeWindow]:
    now = now or timezone.now()
    return list(FreezeWindow.objects.filter(team_id=team_id, starts_at__lte=now, ends_at__gt=now))


def blocking_windows(release: Release, *, now: datetime | None = None) -> list[FreezeWindow]:
    """Active windows this release has no override for (a standard release never has one)."""
    if getattr(release, "fact_freeze_now", None) is False and now is None:
        return []  # read with the release (ReleaseQuerySet.with_facts): no window is active
    windows = active_windows(release.team_id, now=now)
    if not windows:
        return []
    overridden = set(
        FreezeOverride.objects.filter(release=release, window__in=windows).values_list("window_id", flat=True)
    )
    if release.kind != Release.Kind.HOTFIX:
        overridden = set()
    return [w for w in windows if w.pk not in overridden]


def describe(window: FreezeWindow) -> str:
    return (
        f"Team {window.team.slug} is in a deploy freeze from {window.starts_at:%Y-%m-%d %H:%M} to "
        f"{window.ends_at:%Y-%m-%d %H:%M} UTC: {window.reason}"
    )
