"""Waiver debt: every item waived on a hotfix becomes a follow-up with an owner and a due date.

Follow-ups are opened when the hotfix is submitted (and when an item is waived on a hotfix
that is already past draft): at that moment the waiver leaves the author's desk and becomes
the team's debt. While any is open, the team's next standard release cannot be submitted
(workflow.submit). They close only with evidence (workflow.close_followup), audited.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ..models import ChecklistItem, FollowUp, Release, Team


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday to Friday) after `start`."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def open_for_team(team: Team | int) -> QuerySet[FollowUp]:
    team_id = team.pk if isinstance(team, Team) else team
    return FollowUp.objects.open().filter(team_id=team_id).select_related("release", "owner")


def open_for_release(release: Release, items: list[ChecklistItem] | None = None) -> list[FollowUp]:
    """Open one follow-up per waived item of a hotfix that has none yet; return those created."""
    if release.kind != Release.Kind.HOTFIX:
        return []
    waived = [i for i in (items if items is not None else release.items.all()) if i.state == "waived"]
    existing = set(release.followups.values_list("item_key", flat=True))
    due = add_working_days(timezone.localdate(), release.team.followup_due_working_days)
    created = [
        FollowUp(
            release=release,
            team_id=release.team_id,
            item_key=item.key,
            item_title=item.title,
            waiver_reason=item.reason,
            owner_id=release.team.owner_id,
            due_date=due,
        )
        for item in waived
        if item.key not in existing
    ]
    FollowUp.objects.bulk_create(created)
    return created


def describe(followup: FollowUp) -> dict:
    """A follow-up as a refusal or the API names it."""
    return {
        "id": followup.pk,
        "release": followup.release_id,
        "key": followup.item_key,
        "title": followup.item_title,
        "owner": followup.owner.get_username(),
        "due_date": followup.due_date.isoformat(),
        "overdue": followup.is_open and followup.due_date < timezone.localdate(),
    }
