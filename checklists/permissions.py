"""Who may read and who may change what. Every path (pages, API, admin, tasks) asks here.

- A manager (global group `managers`) reads every release and changes nothing.
- A team member (role `member` or `reviewer`) reads and works on the team's releases.
- A reviewer of the team may also sign its releases off, never their own
  (checklists/abilities.py decides what each person may do to a release, and why not).
- Anyone else sees no release at all (a 404, never a hint that it exists).
- A checklist template is read by the teams that use it (or made releases from it),
  by managers and by staff.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from .errors import NotAllowed, NotAReviewerError, NotFound, SelfReviewError  # noqa: F401 - re-exported
from .models import MANAGERS_GROUP, ChecklistTemplate, Membership, Release, Team


def is_manager(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_releasegate_is_manager", None)
    if cached is None:
        cached = user.groups.filter(name=MANAGERS_GROUP).exists()
        user._releasegate_is_manager = cached
    return cached


def readable_releases(user: User | AnonymousUser) -> QuerySet[Release]:
    if not user.is_authenticated:
        return Release.objects.none()
    if user.is_superuser or is_manager(user):
        return Release.objects.all()
    # A semi-join (team_id IN (SELECT ...)): counting 100,000 rows skips joining teams.
    return Release.objects.filter(team_id__in=Membership.objects.filter(user=user).values("team_id"))


def readable_teams(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser or is_manager(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


def readable_templates(user: User | AnonymousUser) -> QuerySet[ChecklistTemplate]:
    """Templates one of the user's teams uses or made releases from; managers and staff read all."""
    if not user.is_authenticated:
        return ChecklistTemplate.objects.none()
    if user.is_superuser or user.is_staff or is_manager(user):
        return ChecklistTemplate.objects.all()
    team_ids = Membership.objects.filter(user=user).values("team_id")
    teams = Team.objects.filter(pk__in=team_ids)
    return ChecklistTemplate.objects.filter(
        Exists(teams.filter(template=OuterRef("pk")))
        # A team without a template of its own uses the default one.
        | (Q(is_default=True) & Exists(teams.filter(template__isnull=True)))
        | Exists(Release.objects.filter(template=OuterRef("pk"), team_id__in=team_ids))
    )


def writable_teams(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user)


def role_in(user: User, team_id: int) -> str | None:
    """The user's role on a team, or None."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(team_id=team_id, user=user).values_list("role", flat=True).first()


def get_release_for_user(user: User | AnonymousUser, pk) -> Release:
    try:
        return readable_releases(user).with_related().get(pk=pk)
    except (Release.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound("No such release.") from None


def check_can_work_on(user: User, release: Release) -> None:
    """Members and reviewers of the release's team may change it; others may not."""
    if role_in(user, release.team_id) is None:
        raise NotAllowed(f"You are not a member of team {release.team.slug}; you may read but not change.")
