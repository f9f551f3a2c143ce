"""Approval rules per team: N approvals, required reviewer groups, expiry; and what changed since.

- An approval counts while it is current (not stale), its reviewer holds the reviewer role
  and is not the author, and it is younger than `Team.approval_valid_days` (if set).
- Each required ReviewerGroup needs one counting approval from one of its members, and one
  person fills one group's slot at most: the groups are assigned by a maximum bipartite
  matching (augmenting paths), so the answer never depends on the order of approvals.
- Every sign-off keeps a snapshot of the release as the reviewer saw it; `changes_since`
  lists what differs now (the page shows it next to a stale approval).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ..models import ChecklistItem, Membership, Release, ReviewerGroup, SignOff

SNAPSHOT_FIELDS = (
    "title",
    "commit",
    "version_before",
    "version_after",
    "description",
    "rollback_plan",
    "deployment_steps",
    "known_limitations",
)


def expires_at(signoff: SignOff, release: Release) -> datetime | None:
    days = release.team.approval_valid_days
    if not days or signoff.decision != SignOff.Decision.APPROVE:
        return None
    return signoff.created_at + timedelta(days=days)


def counting_approvals(
    release: Release,
    *,
    now: datetime | None = None,
    signoffs: list[SignOff] | None = None,
    reviewer_ids: set[int] | None = None,
) -> list[SignOff]:
    """The approvals that count now: current, by a reviewer of the team, not the author, not expired.

    With `signoffs` (all of the release's, read already) and `reviewer_ids` (the team's reviewers),
    the same rule is applied to them without a query.
    """
    if signoffs is not None and reviewer_ids is not None:
        days = release.team.approval_valid_days
        cutoff = (now or timezone.now()) - timedelta(days=days) if days else None
        seen, result = set(), []
        for signoff in sorted(signoffs, key=lambda s: (s.created_at, s.pk)):
            if (
                not signoff.stale
                and signoff.decision == SignOff.Decision.APPROVE
                and signoff.reviewer_id != release.author_id
                and signoff.reviewer_id in reviewer_ids
                and (cutoff is None or signoff.created_at > cutoff)
                and signoff.reviewer_id not in seen
            ):
                seen.add(signoff.reviewer_id)
                result.append(signoff)
        return result
    reviewers = Membership.objects.filter(team_id=release.team_id, role=Membership.Role.REVIEWER).values(
        "user_id"
    )
    approvals = (
        release.signoffs.current_approvals()
        .exclude(reviewer_id=release.author_id)
        .filter(reviewer_id__in=reviewers)
        .select_related("reviewer")
    )
    days = release.team.approval_valid_days
    if days:
        approvals = approvals.filter(created_at__gt=(now or timezone.now()) - timedelta(days=days))
    seen, result = set(), []
    for signoff in approvals:
        if signoff.reviewer_id not in seen:
            seen.add(signoff.reviewer_id)
            result.append(signoff)
    return result


def expired_approvals(
    release: Release, *, now: datetime | None = None, signoffs: list[SignOff] | None = None
) -> list[SignOff]:
    days = release.team.approval_valid_days
    if not days:
        return []
    cutoff = (now or timezone.now()) - timedelta(days=days)
    if signoffs is not None:
        return [
            s
            for s in sorted(signoffs, key=lambda s: (s.created_at, s.pk))
            if not s.stale and s.decision == SignOff.Decision.APPROVE and s.created_at <= cutoff
        ]
    return list(
        release.signoffs.current_approvals().filter(created_at__lte=cutoff).select_related("reviewer")
    )


def maximum_matching(slots: dict[str, set[int]]) -> dict[str, int]:
    """Assign distinct people to slots (slot -> person) so that as many slots as possible are filled."""
    owner_of: dict[int, str] = {}

    def place(slot: str, visited: set[int]) -> bool:
        for person in sorted(slots[slot]):
            if person in visited:
                continue
            visited.add(person)
            if person not in owner_of or place(owner_of[person], visited):
                owner_of[person] = slot
                return True
        return False

    for slot in sorted(slots):
        place(slot, set())
    return {slot: person for person, slot in owner_of.items()}


def required_groups(release: Release) -> list[ReviewerGroup]:
    return list(
        ReviewerGroup.objects.filter(team_id=release.team_id, required=True).prefetch_related("members")
    )


def group_assignment(
    release: Release, approvers: set[int], *, groups: list[ReviewerGroup] | None = None
) -> tuple[dict[str, int], list[str]]:
    """(group -> approver filling it, required groups left unfilled); `groups` if read already."""
    if groups is None:
        groups = required_groups(release)
    slots = {g.name: {m.pk for m in g.members.all()} & approvers for g in groups}
    assigned = maximum_matching(slots)
    return assigned, sorted(name for name in slots if name not in assigned)


def group_candidates(
    release: Release, *, groups: list[ReviewerGroup] | None = None, reviewer_ids: set[int] | None = None
) -> list[dict]:
    """Each required group with the people who could fill it on this release, and who fills it now.

    A candidate is a member of the group who holds the reviewer role on the team and is not the
    release's author. A group without candidates can never be filled: nobody can approve the
    release until the team's owner changes the group (shown on the release and in the admin).
    """
    if groups is None:
        groups = required_groups(release)
    if not groups:
        return []
    reviewers = reviewer_ids if reviewer_ids is not None else team_reviewer_ids(release.team_id)
    return [
        {
            "name": group.name,
            "candidates": sorted(
                m.get_username()
                for m in group.members.all()
                if m.pk in reviewers and m.pk != release.author_id
            ),
        }
        for group in groups
    ]


def team_reviewer_ids(team_id: int) -> set[int]:
    return set(
        Membership.objects.filter(team_id=team_id, role=Membership.Role.REVIEWER).values_list(
            "user_id", flat=True
        )
    )


def groups_nobody_can_fill(team_id: int) -> list[str]:
    """Required groups of a team without a single member who holds the reviewer role on it."""
    reviewers = Membership.objects.filter(team_id=team_id, role=Membership.Role.REVIEWER).values("user_id")
    return sorted(
        ReviewerGroup.objects.filter(team_id=team_id, required=True)
        .exclude(members__in=reviewers)
        .values_list("name", flat=True)
        .distinct()
    )


def shortfall(
    release: Release,
    *,
    now: datetime | None = None,
    counting: list[SignOff] | None = None,
    groups: list[ReviewerGroup] | None = None,
    expired: list[SignOff] | None = None,
) -> list[str]:
    """Why the current approvals are not enough (empty when they are); `counting`, `groups` and
    `expired` if read already."""
    approvals = counting_approvals(release, now=now) if counting is None else counting
    reasons = []
    required = release.team.required_approvals
    if len(approvals) < required:
        reasons.append(
            f"It has {len(approvals)} current approval(s); team {release.team.slug} requires {required}."
        )
    _, missing = group_assignment(release, {s.reviewer_id for s in approvals}, groups=groups)
    if missing:
        reasons.append(
            "No approval yet fills the required reviewer group(s) "
            + ", ".join(missing)
            + " (one person fills one group at most)."
        )
    if not reasons:
        return reasons
    for signoff in expired_approvals(release, now=now) if expired is None else expired:
        reasons.append(
            f"The approval by {signoff.reviewer.get_username()} expired on "
            f"{expires_at(signoff, release):%Y-%m-%d %H:%M} UTC ({release.team.approval_valid_days} day limit)."
        )
    return reasons


# --- what changed since a sign-off ---------------------------------------------------


def snapshot(release: Release, items: list[ChecklistItem]) -> dict:
    return {
        "fields": {name: getattr(release, name) for name in SNAPSHOT_FIELDS},
        "items": {
            i.key: {"title": i.title, "state": i.state, "evidence": i.evidence, "reason": i.reason}
            for i in items
            if not i.is_signoff
        },
    }


def changes_since(saved: dict | None, release: Release, items: list[ChecklistItem]) -> list[dict]:
    """What differs between a sign-off's snapshot and the release now: fields, then items."""
    if not saved:
        return []
    now = snapshot(release, items)
    changes = []
    for name in SNAPSHOT_FIELDS:
        before, after = saved.get("fields", {}).get(name), now["fields"][name]
        if before != after:
            changes.append({"what": "field", "name": name, "from": before, "to": after})
    old_items, new_items = saved.get("items", {}), now["items"]
    for key in sorted(set(old_items) | set(new_items)):
        before, after = old_items.get(key), new_items.get(key)
        if before == after:
            continue
        diff = {
            attr: {"from": (before or {}).get(attr), "to": (after or {}).get(attr)}
            for attr in ("state", "evidence", "reason")
            if (before or {}).get(attr) != (after or {}).get(attr)
        }
        title = (after or before or {}).get("title", key)
        changes.append({"what": "item", "name": key, "title": title, "changes": diff})
    return changes
