"""Waiver debt as the rules read it: a team's open follow-ups, and when one is due.

Every item waived on a hotfix becomes a follow-up with an owner and a due date
(checklists/workflow/followups.py opens and closes them). While any is open, the team's next
standard release cannot be submitted (checklists/policy/abilities.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ..models import FollowUp, Team


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
