"""Reviewer independence from the content, not just the click.

Beyond "not the author" (permissions.signoff_refusal), a reviewer may not approve a
release if they
- ticked (or skipped) one of its manual items: `ticked_item`;
- authored or committed a commit in the range from the team's last deployed commit to
  the release's commit, matched by email (a user's email identifies them as a git author):
  `commit_author`, unless the team allows it (`Team.allow_commit_authors_to_review`).

When the repository cannot be read, the commit rule cannot be checked: the approval is
allowed, the page shows a warning and the audit event records `independence_unverified`
(docs/rules.md explains the choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User

from . import commit_range
from .models import ChecklistItem, Release


@dataclass
class Independence:
    refusals: list[dict] = field(default_factory=list)  # [{"code", "message"}]
    warning: str = ""

    @property
    def ok(self) -> bool:
        return not self.refusals


def check(user: User, release: Release) -> Independence:
    result = Independence()
    ticked = list(
        release.items.filter(satisfied_by="manual", set_by_id=user.pk)
        .exclude(state=ChecklistItem.State.OPEN)
        .values_list("key", flat=True)
    )
    if ticked:
        result.refusals.append(
            {
                "code": "ticked_item",
                "message": f"You ticked or skipped {', '.join(ticked)} on this release; "
                "someone who did not must review it.",
                "items": ticked,
            }
        )
    if release.team.allow_commit_authors_to_review:
        return result
    email = (user.email or "").strip().lower()
    if not email:
        return result
    shipping = commit_range.shipping(release)
    if not shipping.available:
        result.warning = f"Commit authorship was not checked: {shipping.error}"
        return result
    mine = [
        c["sha"]
        for c in shipping.commits
        if email in {(c.get("author_email") or "").lower(), (c.get("committer_email") or "").lower()}
    ]
    if mine:
        shown = ", ".join(sha[:12] for sha in mine[:5]) + (" …" if len(mine) > 5 else "")
        result.refusals.append(
            {
                "code": "commit_author",
                "message": f"You authored or committed {len(mine)} commit(s) in what this release ships "
                f"({shown}); someone else must review it.",
                "commits": mine[:50],
            }
        )
    return result
