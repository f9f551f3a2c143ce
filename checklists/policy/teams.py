"""Who may manage a team, and whether its settings still let a release be approved.

The team pages, the API, the admin and checklists/workflow/teams.py ask here, so a button is
shown exactly when the workflow would accept the change (docs/teams.md):

- staff (and superusers) manage every team;
- an owner of the team (Membership.owner) manages that team;
- members read the team page; managers read every team's page; others get a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User

from ..errors import NotAllowed, WorkflowError
from ..models import Membership, ReviewerGroup, Team
from . import approvals, permissions


def is_staff(user: User | AnonymousUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_staff or user.is_superuser))


def is_owner(user: User | AnonymousUser | None, team: Team) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(team=team, user=user, owner=True).exists()


def manage_refusal(user: User | AnonymousUser | None, team: Team) -> WorkflowError | None:
    """Why `user` may not change `team`'s settings, members or checklist; None if they may.

    `None` as the user is the system itself (a management command, a data migration).
    """
    if user is None or is_staff(user) or is_owner(user, team):
        return None
    return NotAllowed(f"Only an owner of team {team.slug} (or staff) may change its settings.")


def may_manage(user: User | AnonymousUser | None, team: Team) -> bool:
    return manage_refusal(user, team) is None


def readable_team(user: User | AnonymousUser, slug: str) -> Team | None:
    """The team if this user may read its page (members, managers, staff); None otherwise."""
    team = permissions.readable_teams(user).filter(slug=slug).first()
    if team is None and is_staff(user):
        team = Team.objects.filter(slug=slug).first()
    return team


# --- settings that make approval impossible ------------------------------------------------


@dataclass(frozen=True)
class Warning:
    code: str
    message: str


def approval_warnings(team: Team) -> list[Warning]:
    """What in the team's settings keeps releases from being approved (or some of them)."""
    reviewers = set(
        Membership.objects.filter(team=team, role=Membership.Role.REVIEWER).values_list("user_id", flat=True)
    )
    warnings: list[Warning] = []
    needed = team.required_approvals
    if needed > len(reviewers):
        warnings.append(
            Warning(
                "too_few_reviewers",
                f"Releases need {needed} approval(s) but the team has {len(reviewers)} reviewer(s): "
                "no release can be approved. Add reviewers or lower the required approvals.",
            )
        )
    elif needed == len(reviewers) and reviewers:
        warnings.append(
            Warning(
                "author_reviewer_blocked",
                f"Releases need {needed} approval(s) and the team has exactly {len(reviewers)} "
                "reviewer(s): a release written by one of them cannot be approved (nobody approves "
                "their own release).",
            )
        )
    groups = list(ReviewerGroup.objects.filter(team=team, required=True).prefetch_related("members"))
    slots = {}
    for group in groups:
        eligible = {m.pk for m in group.members.all()} & reviewers
        slots[group.name] = eligible
        if not eligible:
            warnings.append(
                Warning(
                    "group_without_reviewer",
                    f"The required group {group.name} has no member who is a reviewer of the team: "
                    "no release can be approved.",
                )
            )
    filled = approvals.maximum_matching(slots)
    if len(filled) < len(slots) and all(slots.values()):
        warnings.append(
            Warning(
                "groups_need_more_people",
                f"The {len(slots)} required groups need {len(slots)} different reviewers (one person "
                f"fills one group), but at most {len(filled)} can fill them at once: no release can "
                "be approved.",
            )
        )
    return warnings


def may_create_webhook(actor: User, team: Team) -> bool:
    """Owners and staff on the team pages; reviewers too (the API allowed them before owners existed)."""
    return may_manage(actor, team) or (
        Membership.objects.filter(team=team, user=actor, role=Membership.Role.REVIEWER).exists()
    )


def webhook_creation_refusal(actor: User, team: Team) -> NotAllowed | None:
    if may_create_webhook(actor, team):
        return None
    return NotAllowed(f"Only an owner or reviewer of team {team.slug} (or staff) may register webhooks.")
