"""What ships with a release: the stored commit range, as a worker read it. No git here.

A release points at the CommitRange from the team's last deployed commit of its repository
to its own commit (workflow/ranges.py keeps it current). What the page, the API, sign-off
and the gate see is this module's `Shipping`:
- `ready`: the commits (author, committer), the changed files with their line counts and
  the commit's relation to production (new, same, ahead, behind, diverged);
- `pending`: not read yet, or production moved since it was read (another release was
  deployed): a worker is reading it;
- `unreadable`: the worker could not read it, and `error` says why.
Approval fails closed on anything but `ready` (checklists/policy/abilities.py), except that a
reviewer may override it on a hotfix, with a reason (`override`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import CommitRange, RangeOverride, Release

Status = CommitRange.Status
PENDING_MESSAGE = "What ships is being read by a worker; approval waits for it."
MOVED_MESSAGE = (
    "Production moved since what ships was read (another release was deployed); it is being read again."
)


def production_release(release: Release) -> Release | None:
    """The latest deployment of the release's repository, other than the release itself."""
    return (
        Release.objects.filter(repository_id=release.repository_id, status=Release.Status.DEPLOYED)
        .exclude(pk=release.pk)
        .order_by("-deployed_at", "-id")
        .only("pk", "commit")
        .first()
    )


def points_at_production(release: Release, *, production: Release | None | bool = False) -> bool:
    """Whether the release's range starts at today's production commit and ends at its commit."""
    base_release = production_release(release) if production is False else production
    rng = release.commit_range
    base = base_release.commit if base_release else ""
    return rng is not None and (rng.repository_id, rng.base, rng.head) == (
        release.repository_id,
        base,
        release.commit,
    )


@dataclass
class Shipping:
    state: str  # pending | ready | unreadable
    base: str = ""
    head: str = ""
    base_release: int | None = None
    range: CommitRange | None = None
    error: str = ""
    override: RangeOverride | None = None

    @property
    def commits(self) -> list[dict]:
        return self.range.commits if self.ready else []

    @property
    def files(self) -> list[dict]:
        return self.range.files if self.ready else []

    @property
    def ready(self) -> bool:
        return self.state == Status.READY

    @property
    def relation(self) -> str:
        return self.range.relation if self.ready else ""

    @property
    def older_or_diverged(self) -> bool:
        return self.ready and self.range.is_older_or_diverged

    @property
    def truncated(self) -> bool:
        return bool(self.ready and self.range.truncated)

    def relation_sentence(self) -> str:
        """One plain sentence about an older or diverged commit ('' otherwise)."""
        if not self.older_or_diverged:
            return ""
        rng = self.range
        if rng.relation == CommitRange.Relation.BEHIND:
            return (
                f"This release ships commit {rng.head[:12]}, which is {rng.behind_by} commit(s) older than "
                f"production ({rng.base[:12]}): deploying it takes those changes out."
            )
        return (
            f"This release's commit {rng.head[:12]} diverged from production ({rng.base[:12]}): it lacks "
            f"{rng.behind_by} commit(s) that are deployed and adds {rng.ahead_by} that are not."
        )

    def as_dict(self, *, lists: bool = True) -> dict:
        rng = self.range if self.ready else None
        return {
            "state": self.state,
            "available": self.ready,
            "error": self.error or None,
            "base": self.base or None,
            "base_release": self.base_release,
            "head": self.head,
            "relation": rng.relation if rng else None,
            "ahead_by": rng.ahead_by if rng else None,
            "behind_by": rng.behind_by if rng else None,
            "commits": self.commits if lists else None,
            "files": self.files if lists else None,
            "truncated": self.truncated,
            "read_at": rng.read_at.isoformat() if rng and rng.read_at else None,
            "override": (
                {
                    "reviewer": self.override.reviewer.get_username(),
                    "reason": self.override.reason,
                    "at": self.override.created_at.isoformat(),
                }
                if self.override
                else None
            ),
        }


OPEN_STATUSES = (Release.Status.DRAFT, Release.Status.IN_REVIEW, Release.Status.APPROVED)


def shipping(release: Release, *, production: Release | None | bool = False) -> Shipping:
    """What ships with `release`, from stored rows (pass `production` if it is known already).

    A release that can no longer change (deployed, rolled back, cancelled) keeps the range it
    was last pointed at: what it shipped from the production of its time.
    """
    rng = release.commit_range
    if release.status not in OPEN_STATUSES and rng is not None:
        historical = Shipping(state=rng.status, base=rng.base, head=rng.head, range=rng, error=rng.error)
        if rng.status == Status.PENDING:
            historical.error = PENDING_MESSAGE
        return historical
    base_release = production_release(release) if production is False else production
    base = base_release.commit if base_release else ""
    result = Shipping(
        state=Status.PENDING,
        base=base,
        head=release.commit,
        base_release=base_release.pk if base_release else None,
    )
    rng = release.commit_range
    if rng is None or (rng.repository_id, rng.base, rng.head) != (
        release.repository_id,
        base,
        release.commit,
    ):
        result.error = MOVED_MESSAGE if rng is not None and rng.head == release.commit else PENDING_MESSAGE
    elif rng.status == Status.READY:
        result.state, result.range = Status.READY, rng
    elif rng.status == Status.UNREADABLE:
        result.state, result.range = Status.UNREADABLE, rng
        result.error = rng.error or "The repository could not be read."
    else:
        result.range, result.error = rng, PENDING_MESSAGE
    if not result.ready and result.range is not None and release.kind == Release.Kind.HOTFIX:
        result.override = (
            RangeOverride.objects.filter(release=release, commit_range=result.range)
            .select_related("reviewer")
            .first()
        )
    return result
