"""The review page: the evidence a reviewer decides on, first, and the sign-off last.

What ships (commits, files with their line counts, the relation to production) comes first,
then what blocks and who may approve, what changed since the last decision, each item's
evidence in a compact list, then the sign-off. Every action it offers is one that
checklists/policy/abilities.py allows this person now; nothing else is shown as a button.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..checklist_format.files import CATEGORIES
from ..models import ChecklistItem, Release, TemplateItem
from ..policy import abilities
from ..web import release_cache, review
from .common import readable_release

Status = Release.Status
CATEGORY_ORDER = {category: n for n, category in enumerate(CATEGORIES)}
CATEGORY_LABELS = dict(TemplateItem.Category.choices)
MAX_COMMITS_SHOWN = 100
MAX_FILES_SHOWN = 300


def signoff_note(release: Release, may: abilities.Abilities, signoffs) -> str:
    """What the sign-off panel says above (or instead of) its buttons, for this person."""
    approve, reject = may["approve"], may["reject"]
    if approve.allowed or reject.allowed:
        if not approve.allowed:
            return f"You may reject, but not approve yet: {approve.message}"
        if release.status == Status.APPROVED:
            return "Your approval adds to the ones that no longer suffice."
        return ""
    return approve.message


def blockers_for(release: Release, facts: abilities.Facts) -> list[dict]:
    if release.status == Status.DRAFT:
        return facts.blockers(for_submit=True)
    if release.status == Status.IN_REVIEW:
        return facts.blockers(for_submit=False)
    return []


def evidence_rows(release: Release, items: list[ChecklistItem]) -> list[dict]:
    """One compact row per item, in checklist order, with what its scan found if it has one."""
    runs = {run.scanner: run for run in release.scans.filter(current=True, commit=release.commit)}
    rows = []
    for item in sorted(items, key=lambda i: (CATEGORY_ORDER.get(i.category, 99), i.order)):
        run = runs.get(item.argument) if item.is_scan else None
        rows.append({"item": item, "run": run, "category": CATEGORY_LABELS.get(item.category, item.category)})
    return rows


def review_context(request: HttpRequest, release: Release, **extra) -> dict:
    user = request.user
    items = list(release.items.select_related("set_by"))
    signoffs = list(release.signoffs.select_related("reviewer", "snapshot").order_by("-created_at", "-id"))
    facts = abilities.Facts(release, items=items, signoffs=signoffs)
    may = abilities.abilities_for(user, release, facts)
    blockers = blockers_for(release, facts)
    shipping = facts.shipping
    files = shipping.files
    decision = review.last_decision(signoffs)
    context = {
        "release": release,
        "abilities": may,
        "is_member": facts.role(user) is not None,
        "situation": review.situation(release, facts, may, blockers),
        "shipping": shipping,
        "commits_shown": shipping.commits[:MAX_COMMITS_SHOWN],
        "files_shown": files[:MAX_FILES_SHOWN],
        "additions": sum(f.get("additions") or 0 for f in files),
        "deletions": sum(f.get("deletions") or 0 for f in files),
        "blockers": blockers,
        "approvals": len(facts.counting),
        "reviewers": review.reviewers(release, facts),
        "groups": review.group_rows(release, facts),
        "last_decision": decision,
        "changes": review.changes_since(decision, release, items),
        "evidence": evidence_rows(release, items),
        "freeze_windows": facts.freeze_windows if release.is_open_for_changes else [],
        "may_sign": may.may_sign,
        "may_approve": may.may("approve"),
        "may_reject": may.may("reject"),
        "signoff_note": signoff_note(release, may, signoffs),
        "acknowledge_relation": may.acknowledge,
        "can_override_range": may.may("override_range"),
        "can_override_freeze": may.may("override_freeze"),
        "can_read_range_again": may.may("read_range_again"),
    }
    context.update(extra)
    return context


def review_page(request: HttpRequest, release: Release, *, status: int = 200, **extra) -> HttpResponse:
    return render(
        request, "checklists/release_review.html", review_context(request, release, **extra), status=status
    )


@login_required
@require_GET
def release_review(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    return release_cache.page(
        request, release, "review", "checklists/release_review.html", lambda: review_context(request, release)
    )
