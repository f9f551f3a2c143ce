"""The deploy gate: may a pipeline deploy this commit of this release now, and if not, why?

`gate_status` decides by the full rules (checklists/policy/abilities.py's facts): the reasons it
is shut, empty when it is open, and which freeze windows shut it.

`open_gate` is the common answer, "open", decided from one statement.

A pipeline polls the gate of an approved release many times. Deciding "open" needs: the
release (approved, this commit), its team's approval rules, the approvals that count, what
ships (read, from today's production, not older or diverged), no required reviewer group,
no freeze window now and the reader's right to read it. One SQL statement reads all of them
(production's commit, the freeze and group checks and the approvals are subqueries of it).

This is a shortcut, not a second set of rules: it answers only when the answer is certainly
"open" under checklists/policy/abilities.py's rules, and returns None for everything else, which
`gate_status` then decides in full (with the reasons). Cases it leaves to the full
rules: any reason to close, required reviewer groups (a matching), a freeze window now (an
override), an older or diverged commit (acknowledgements), approvals near expiry.
tests/test_gate_read.py checks that it never says open where the full rules say closed.
No state is stored: nothing here can go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models import (
    MANAGERS_GROUP,
    SHA_RE,
    CommitRange,
    FreezeWindow,
    Membership,
    Release,
    ReviewerGroup,
    SignOff,
    Team,
)
from . import abilities, freeze, prepared
from .shipping import Shipping


@dataclass(frozen=True)
class GateStatus:
    reasons: list[str]
    freeze: list[dict]  # the freeze windows among the reasons
    approvals: int  # approvals that count now (0 unless the release is approved)
    shipping: Shipping  # what ships, as read (relation to production included)


def gate_status(release: Release, commit: Any, facts: abilities.Facts | None = None) -> GateStatus:
    """The gate's answer: why it is shut (reasons, empty when open) and which freeze windows shut it."""
    facts = facts or abilities.Facts(release)
    reasons = []
    sha = commit.strip().lower() if isinstance(commit, str) else ""
    if not SHA_RE.fullmatch(sha):
        reasons.append("Give the commit you are about to deploy as ?commit=<full 40-character SHA>.")
    elif sha != release.commit:
        reasons.append(f"Commit {sha} is not the release's commit {release.commit}.")
    counting = []
    if release.status != Release.Status.APPROVED:
        reasons.append(f"The release is {release.get_status_display().lower()}, not approved.")
    else:
        counting = facts.counting
        reasons.extend(facts.shortfall)
        reasons.extend(abilities.range_reasons(release, facts))
    windows = facts.freeze_windows
    reasons.extend(freeze.describe(window) for window in windows)
    return GateStatus(
        reasons=reasons,
        freeze=[w.as_dict() for w in windows],
        approvals=len(counting),
        shipping=facts.shipping,
    )


# --- the shortcut: "open" from one statement ---------------------------------------------------

T = {
    "release": Release._meta.db_table,
    "team": Team._meta.db_table,
    "range": CommitRange._meta.db_table,
    "group": ReviewerGroup._meta.db_table,
    "freeze": FreezeWindow._meta.db_table,
    "signoff": SignOff._meta.db_table,
    "membership": Membership._meta.db_table,
    "user_groups": User.groups.through._meta.db_table,
    "auth_group": Group._meta.db_table,
}

# The approvals that count (approvals.counting_approvals): current, approve, not by the author,
# by someone holding the reviewer role on the team. Expiry is checked on their oldest one.
_COUNTING = """
    FROM {signoff} s WHERE s.release_id = r.id AND s.stale = %(false)s AND s.decision = %(approve)s
      AND s.reviewer_id <> r.author_id
      AND s.reviewer_id IN (SELECT m.user_id FROM {membership} m
                            WHERE m.team_id = r.team_id AND m.role = %(reviewer)s)
"""

_TEMPLATE = """
SELECT r.id, r.status, r."commit", r.repository_id, r.approved_at,
       t.required_approvals, t.approval_valid_days,
       cr.repository_id, cr.base, cr.head, cr.status, cr.relation, cr.ahead_by, cr.behind_by,
       (SELECT p."commit" FROM {release} p
         WHERE p.repository_id = r.repository_id AND p.status = %(deployed)s AND p.id <> r.id
         ORDER BY p.deployed_at DESC, p.id DESC LIMIT 1) AS production_commit,
       EXISTS(SELECT 1 FROM {group} g WHERE g.team_id = r.team_id AND g.required = %(true)s) AS has_groups,
       EXISTS(SELECT 1 FROM {freeze} w
               WHERE w.team_id = r.team_id AND w.starts_at <= %(now)s AND w.ends_at > %(now)s) AS freeze_now,
       (SELECT COUNT(DISTINCT s.reviewer_id) {counting}) AS approvals,
       (SELECT MIN(s.created_at) {counting}) AS oldest_approval
  FROM {release} r
  JOIN {team} t ON t.id = r.team_id
  LEFT JOIN {range} cr ON cr.id = r.commit_range_id
 WHERE r.id = %(pk)s
   AND (%(superuser)s
        OR r.team_id IN (SELECT m.team_id FROM {membership} m WHERE m.user_id = %(user)s)
        OR EXISTS(SELECT 1 FROM {user_groups} ug JOIN {auth_group} ag ON ag.id = ug.group_id
                   WHERE ug.user_id = %(user)s AND ag.name = %(managers)s))
"""
# Table names come from the models' _meta; every value is a query parameter.
SQL = _TEMPLATE.format(counting=_COUNTING.format(**T), **T)


@dataclass(frozen=True)
class OpenGate:
    """What the gate's 200 says: the release, its approved commit and what ships."""

    release: int
    commit: str
    approved_at: datetime
    approvals: int
    required_approvals: int
    shipping: dict

    def as_dict(self) -> dict:
        """The body of the gate's 200, in the shape GateOpenSerializer gives (tests compare them)."""
        return {
            "open": True,
            "release": self.release,
            "commit": self.commit,
            "approved_at": _iso(self.approved_at),
            "approvals": self.approvals,
            "required_approvals": self.required_approvals,
            "shipping": self.shipping,
            "warning": "",
        }


def _iso(value: datetime) -> str:
    """DRF's ISO 8601 rendering of an aware datetime (UTC as 'Z')."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _datetime(value) -> datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))  # SQLite: text or naive
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def open_gate(user: User, pk, commit, *, now: datetime | None = None) -> OpenGate | None:
    """The gate's answer if it is certainly open for `user` and `commit`; None to decide in full."""
    sha = commit.strip().lower() if isinstance(commit, str) else ""
    if not SHA_RE.fullmatch(sha) or not user.is_authenticated:
        return None
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None  # no such row; the full path answers 404
    now = now or timezone.now()
    params = {
        "pk": pk,
        "user": user.pk,
        "superuser": bool(user.is_superuser),
        "managers": MANAGERS_GROUP,
        "now": now,
        "true": True,
        "false": False,
        "approve": SignOff.Decision.APPROVE,
        "reviewer": Membership.Role.REVIEWER,
        "deployed": Release.Status.DEPLOYED,
    }
    rows = prepared.fetch(SQL, params, size=1)
    if not rows:
        return None
    row = rows[0]
    (
        release_id, status, release_commit, repository_id, approved_at,
        required, valid_days,
        range_repository, base, head, range_status, relation, ahead_by, behind_by,
        production_commit, has_groups, freeze_now, approvals, oldest,
    ) = row  # fmt: skip
    if status != Release.Status.APPROVED or sha != release_commit or approved_at is None:
        return None
    if has_groups or freeze_now or approvals < required:
        return None
    if valid_days:
        oldest = _datetime(oldest)
        if oldest is None or oldest <= now - timedelta(days=valid_days):
            return None  # an approval may have expired: the full rules name it
    # What ships must be read, from today's production to this commit, and not older or diverged.
    if range_status != CommitRange.Status.READY or relation not in (
        CommitRange.Relation.NEW,
        CommitRange.Relation.SAME,
        CommitRange.Relation.AHEAD,
    ):
        return None
    if (range_repository, base, head) != (repository_id, production_commit or "", release_commit):
        return None
    shipping = {
        "state": CommitRange.Status.READY.value,
        "error": None,
        "base": base or None,
        "head": head,
        "relation": relation,
        "ahead_by": ahead_by,
        "behind_by": behind_by,
        "commits": None,
        "files": None,
    }
    return OpenGate(
        release=release_id,
        commit=release_commit,
        approved_at=_datetime(approved_at),
        approvals=approvals,
        required_approvals=required,
        shipping=shipping,
    )
