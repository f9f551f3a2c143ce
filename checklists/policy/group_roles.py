"""OIDC_GROUP_ROLES: which of the identity provider's groups give which role.

    payments-reviewers=payments:reviewer, payments-devs=payments:member,
    payments-leads=payments:owner, eng-managers=manager

Entries are separated by commas, semicolons or new lines; a group may appear more than once
(one entry per team). `member` and `reviewer` are release roles on a team, `owner` manages the
team (and is a member of it), `manager` reads every team. Pure Python: settings.py parses the
variable at start-up and refuses a malformed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TEAM_ROLES = ("member", "reviewer", "owner")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ENTRY_SEPARATORS = re.compile(r"[,;\n]")


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    group: str
    team: str | None  # None: the manager role
    role: str


@dataclass(frozen=True)
class TeamRole:
    """What a person's groups give them on one team."""

    role: str  # member or reviewer
    owner: bool
    groups: tuple[str, ...] = field(default=())


def parse(text: str) -> tuple[Grant, ...]:
    """Read the mapping; raise MappingError naming the first malformed entry."""
    grants = []
    for raw in ENTRY_SEPARATORS.split(text or ""):
        entry = raw.strip()
        if not entry:
            continue
        group, sep, target = entry.rpartition("=")
        group, target = group.strip(), target.strip()
        if not sep or not group:
            raise MappingError(f"{entry!r}: write group=team:role or group=manager")
        if target == "manager":
            grants.append(Grant(group, None, "manager"))
            continue
        team, sep, role = target.partition(":")
        if not sep or not SLUG_RE.fullmatch(team) or role not in TEAM_ROLES:
            raise MappingError(f"{entry!r}: the role is team:member, team:reviewer, team:owner or manager")
        grants.append(Grant(group, team, role))
    return tuple(grants)


def mapped_teams(grants: tuple[Grant, ...]) -> set[str]:
    """The teams whose memberships the groups decide (for people who have one of their groups)."""
    return {g.team for g in grants if g.team}


def roles_for(groups: list[str], grants: tuple[Grant, ...]) -> tuple[dict[str, TeamRole], bool]:
    """(team slug -> the role these groups give, whether they give the manager role)."""
    have = set(groups)
    manager = any(g.role == "manager" and g.group in have for g in grants)
    result: dict[str, TeamRole] = {}
    for grant in grants:
        if grant.team is None or grant.group not in have:
            continue
        current = result.get(grant.team, TeamRole(role="member", owner=False))
        role = "reviewer" if grant.role == "reviewer" or current.role == "reviewer" else "member"
        result[grant.team] = TeamRole(
            role=role,
            owner=current.owner or grant.role == "owner",
            groups=tuple(sorted({*current.groups, grant.group})),
        )
    return result, manager


def groups_from_claim(value) -> list[str]:
    """The groups claim as a list of names (a list of strings, or one string)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str) and v]
    return []
