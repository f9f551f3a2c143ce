"""Who may read and who may change what. Every path (pages, API, admin, tasks) asks here.

- A manager (global group `managers`) reads every release and changes nothing.
- A team member (role `member` or `reviewer`) reads and works on the team's releases.
- A reviewer of the team may also sign its releases off, never their own
  (checklists/policy/abilities.py decides what each person may do to a release, and why not).
- Anyone else sees no release at all (a 404, never a hint that it exists).
- A checklist template is read by the teams that use it (or made releases from it),
  by managers and by staff.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..errors import NotAllowed, NotAReviewerError, NotFound, SelfReviewError  # noqa: F401 - re-exported
from ..models import MANAGERS_GROUP, ChecklistTemplate, Membership, Release, Team
from .prepared import Prepared


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


def _readable_with_facts(
    queryset: QuerySet[Release], user_id: int, *, superuser: bool, now
) -> QuerySet[Release]:
    releases = queryset.with_facts(user_id, now=now)
    if not superuser:
        # Readable as a member of its team or as a manager, asked in the same statement.
        releases = releases.filter(
            Q(team_id__in=Membership.objects.filter(user_id=user_id).values("team_id"))
            | Q(fact_viewer_is_manager=True)
        )
    return releases


def _page_rows() -> QuerySet[Release]:
    return Release.objects.with_related().select_related("commit_range")


# What pages and a release's JSON read: compiled once per process (checklists/policy/prepared.py).
PAGE_STATEMENTS = {
    superuser: Prepared(
        lambda pk, user, now, superuser=superuser: _readable_with_facts(
            _page_rows(), user, superuser=superuser, now=now
        ).filter(pk=pk)
    )
    for superuser in (False, True)
}


def get_release_for_user(
    user: User | AnonymousUser, pk, *, queryset: QuerySet[Release] | None = None, page_rows: bool = False
) -> Release:
    """The release if `user` may read it, read in one statement with the facts its rules ask
    (ReleaseQuerySet.with_facts: production, groups, freeze, the user's role and manager group).

    `page_rows`: with its team, author, repository and stored range, from a statement compiled
    once per process (pages and a release's JSON); else `queryset` (default: with_related()).
    """
    if not user.is_authenticated:
        raise NotFound("No such release.")
    try:
        key = int(pk)
    except (ValueError, TypeError, OverflowError):
        raise NotFound("No such release.") from None
    if not 0 < key < 2**63:
        raise NotFound("No such release.")
    now = timezone.now()
    if page_rows:
        release = PAGE_STATEMENTS[bool(user.is_superuser)].get(pk=key, user=user.pk, now=now)
    else:
        base = queryset if queryset is not None else Release.objects.with_related()
        release = (
            _readable_with_facts(base, user.pk, superuser=user.is_superuser, now=now).filter(pk=key).first()
        )
    if release is None:
        raise NotFound("No such release.")
    release.fact_viewer_id = user.pk
    user._releasegate_is_manager = release.fact_viewer_is_manager
    return release


def check_can_work_on(user: User, release: Release) -> None:
    """Members and reviewers of the release's team may change it; others may not."""
    if role_in(user, release.team_id) is None:
        raise NotAllowed(f"You are not a member of team {release.team.slug}; you may read but not change.")
