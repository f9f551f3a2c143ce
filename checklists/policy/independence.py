"""Reviewer independence from the content, not just the click.

Beyond "not the author" (checklists/policy/abilities.py), a reviewer may not approve a release if they
- vouched for one of its items by hand: ticked or skipped a manual item, waived or marked
  not applicable a scan or field item, or wrote the field a `field:` item follows (the
  rollback plan, the steps, the versions, the known limitations), or uploaded the test
  report whose passing scan ticked the `tests` item: `ticked_item`. The sign-off item, and
  other scan items as their scans set them (by nobody), never count;
- changed its commit or its repository: `changed_release` (they chose what ships);
- authored or committed a commit in what ships (the stored range from the team's last
  deployed commit to the release's commit), matched by email (a user's email identifies
  them as a git author): `commit_author`, unless the team allows it
  (`Team.allow_commit_authors_to_review`). A reviewer whose account has no email cannot be
  told from an author, so is refused too while anything ships.

Only stored rows are read here. Whether what ships has been read at all is the caller's
question (abilities: `range_pending`, `range_unreadable`): an approval never stands on
an unread range.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from ..models import ChecklistItem, Contribution, Release, satisfied_by
from .shipping import Shipping


def ticked_refusal(user: User, release: Release, items=None) -> dict | None:
    """The items `user` vouched for by hand (see the module doc), as a refusal; None if none."""
    if items is not None:
        ticked = [
            i.key
            for i in items
            if not i.is_signoff and i.set_by_id == user.pk and i.state != ChecklistItem.State.OPEN
        ]
    else:
        ticked = list(
            release.items.exclude(satisfied_by=satisfied_by.SIGNOFF)
            .filter(set_by_id=user.pk)
            .exclude(state=ChecklistItem.State.OPEN)
            .order_by("order", "id")
            .values_list("key", flat=True)
        )
    if not ticked:
        return None
    return {
        "code": "ticked_item",
        "message": f"You ticked or skipped {', '.join(ticked)} on this release (by hand, waived, by "
        "writing the field it follows or by uploading its test report); someone who did not must review it.",
        "items": ticked,
    }


def changed_refusal(
    user: User, release: Release, contributions: list[Contribution] | None = None
) -> dict | None:
    """`contributions`: the release's Contribution rows if read already (a page asks for many people)."""
    if contributions is None:
        contributions = list(Contribution.objects.filter(release=release, user=user))
    kinds = sorted({c.kind for c in contributions if c.user_id == user.pk})
    if not kinds:
        return None
    what = " and ".join(Contribution.Kind(kind).label.removeprefix("changed the ") for kind in kinds)
    return {
        "code": "changed_release",
        "message": f"You changed the {what} of this release, so you chose what ships; someone else must review it.",
        "changed": kinds,
    }


def commit_author_refusal(user: User, release: Release, found: Shipping) -> dict | None:
    if release.team.allow_commit_authors_to_review or not found.ready:
        return None
    email = (user.email or "").strip().lower()
    if not email:
        if not found.commits:
            return None
        # Nothing could match: what cannot be checked is refused (DESIGN rule 8).
        return {
            "code": "commit_author",
            "message": f"Your account has no email address, so releasegate cannot tell whether you "
            f"wrote any of the {len(found.commits)} commit(s) that ship; an administrator adds it, "
            "or someone else reviews.",
            "commits": [],
        }
    mine = [
        c["sha"]
        for c in found.commits
        if email in {(c.get("author_email") or "").lower(), (c.get("committer_email") or "").lower()}
    ]
    if not mine:
        return None
    shown = ", ".join(sha[:12] for sha in mine[:5]) + (" …" if len(mine) > 5 else "")
    return {
        "code": "commit_author",
        "message": f"You authored or committed {len(mine)} commit(s) in what this release ships "
        f"({shown}); someone else must review it.",
        "commits": mine[:50],
    }


def refusals(user: User, release: Release, found: Shipping, items=None, contributions=None) -> list[dict]:
    """Every independence reason that keeps `user` from approving `release` (empty: none)."""
    found_refusals = [
        ticked_refusal(user, release, items),
        changed_refusal(user, release, contributions),
        commit_author_refusal(user, release, found),
    ]
    return [r for r in found_refusals if r]
