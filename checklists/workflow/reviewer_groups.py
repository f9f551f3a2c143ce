"""A team's reviewer groups (security, release-eng): a required group needs one approval from its members.

Changed by the team's owners like its settings (checklists/workflow/teams.py): the team row is
locked FOR NO KEY UPDATE and one audit event says what it was `before` and `after`.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from ..errors import InvalidInput, NotFound
from ..models import SLUG_VALIDATOR, Membership, ReviewerGroup, Team
from .base import FieldErrors
from .teams import _lock_team, _require_manager, _team_audit, find_user
from .transactions import write_transaction


def _group_state(group: ReviewerGroup | None) -> dict | None:
    if group is None:
        return None
    return {
        "name": group.name,
        "required": group.required,
        "members": sorted(u.get_username() for u in group.members.all()),
    }


@write_transaction
def save_reviewer_group(
    team: Team | str,
    *,
    actor: User | None,
    name: str,
    required: bool = True,
    members: list[User | str | int] = (),
    group: ReviewerGroup | int | None = None,
) -> ReviewerGroup:
    """Create a reviewer group (security, release-eng), or change one's name, members and rule."""
    team = _lock_team(team)
    _require_manager(actor, team)
    found = None
    if group is not None:
        pk = group.pk if isinstance(group, ReviewerGroup) else group
        found = ReviewerGroup.objects.filter(team=team, pk=pk).prefetch_related("members").first()
        if found is None:
            raise NotFound("No such reviewer group.")
    errors = FieldErrors()
    name = name.strip().lower() if isinstance(name, str) else ""
    try:
        SLUG_VALIDATOR(name)
        if len(name) > 50:
            raise ValidationError("length")
    except ValidationError:
        errors["name"] = ["1 to 50 lower-case letters, digits and dashes."]
    else:
        taken = ReviewerGroup.objects.filter(team=team, name=name)
        if found is not None:
            taken = taken.exclude(pk=found.pk)
        if taken.exists():
            errors["name"] = ["The team has a group of this name already."]
    people = []
    for value in members:
        try:
            people.append(find_user(value))
        except InvalidInput:
            errors.setdefault("members", []).append(f"{value}: no such account.")
    on_team = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    outsiders = [p.get_username() for p in people if p.pk not in on_team]
    if outsiders:
        errors.setdefault("members", []).append(f"Not on the team: {', '.join(outsiders)}.")
    errors.refuse("The reviewer group is invalid; nothing was changed.")
    before = _group_state(found)
    if found is None:
        found = ReviewerGroup.objects.create(team=team, name=name, required=bool(required))
    else:
        found.name, found.required = name, bool(required)
        found.save(update_fields=["name", "required"])
    found.members.set(people)
    found = ReviewerGroup.objects.prefetch_related("members").get(pk=found.pk)
    after = _group_state(found)
    if before == after:
        return found
    verb = "team.reviewer_group_created" if before is None else "team.reviewer_group_changed"
    _team_audit(actor, verb, team, before=before, after=after, group=found.pk)
    return found


@write_transaction
def delete_reviewer_group(team: Team | str, *, actor: User | None, group: ReviewerGroup | int) -> None:
    team = _lock_team(team)
    _require_manager(actor, team)
    pk = group.pk if isinstance(group, ReviewerGroup) else group
    found = ReviewerGroup.objects.filter(team=team, pk=pk).prefetch_related("members").first()
    if found is None:
        raise NotFound("No such reviewer group.")
    before = _group_state(found)
    found.delete()
    _team_audit(actor, "team.reviewer_group_deleted", team, before=before, after=None, group=pk)
