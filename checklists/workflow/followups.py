"""Waiver debt: every item waived on a hotfix becomes a follow-up with an owner and a due date.

Follow-ups are opened when the hotfix is submitted (and when an item is waived on a hotfix
that is already past draft): at that moment the waiver leaves the author's desk and becomes
the team's debt. While any is open, the team's next standard release cannot be submitted
(checklists/policy/abilities.py). They close only with evidence, audited.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from ..errors import NotAllowed, NotFound, TransitionError
from ..models import EVIDENCE_MAX, ChecklistItem, FollowUp, Release
from ..policy import permissions
from ..policy.followups import add_working_days
from .base import _audit, _bump, _lock, checked_text
from .transactions import write_transaction


@write_transaction
def close_followup(followup: FollowUp | int, *, actor: User, evidence: str) -> FollowUp:
    """Close a hotfix waiver's follow-up with evidence that the item is now done (audited)."""
    pk = followup.pk if isinstance(followup, FollowUp) else followup
    release_id = FollowUp.objects.filter(pk=pk).values_list("release_id", flat=True).first()
    if release_id is None:
        raise NotFound("No such follow-up.")
    release = _lock(release_id)  # the release first, like every write (docs/reliability.md)
    found = FollowUp.objects.select_for_update().get(pk=pk)
    if permissions.role_in(actor, found.team_id) is None:
        raise NotAllowed("Only a member of the team may close its follow-ups.")
    if found.closed_at is not None:
        raise TransitionError("This follow-up is closed already.", code="already_closed")
    evidence = checked_text(
        "evidence",
        evidence,
        limit=EVIDENCE_MAX,
        message="Closing a follow-up needs evidence.",
        required="Show that the item is now done: a link or a sentence.",
    )
    found.closed_at, found.closed_by, found.evidence = timezone.now(), actor, evidence
    found.save(update_fields=["closed_at", "closed_by", "evidence"])
    # The release's timeline shows this event: bump its revision like every change (page caches).
    _bump(release)
    _audit(
        release,
        actor,
        "followup.closed",
        followup=found.pk,
        key=found.item_key,
        evidence=evidence,
        due_date=found.due_date.isoformat(),
    )
    return found


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
