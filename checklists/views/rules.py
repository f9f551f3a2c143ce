"""Pages of the rules beyond the gate: follow-ups, freeze and range overrides, re-reading what ships."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import WorkflowError
from ..models import ChecklistItem, FollowUp, Release
from ..policy import approvals, followups, permissions
from ..policy.abilities import Abilities, Facts
from ..web import review
from .common import readable_release, refusal


def rules_context(
    request: HttpRequest, release: Release, signoffs: list, items: list, facts: Facts, may: Abilities
) -> dict:
    """What the release page shows about follow-ups, freezes, groups, expiry and what ships."""
    now = timezone.now()
    for signoff in signoffs:
        signoff.expires_at = approvals.expires_at(signoff, release)
        signoff.expired = bool(signoff.expires_at and signoff.expires_at <= now)
        signoff.changes = review.changes_since(signoff, release, items)
    windows = facts.freeze_windows if release.is_open_for_changes else []
    release_followups = list(release.followups.select_related("owner", "closed_by"))
    by_key = {f.item_key: f for f in release_followups}
    waivers = [
        {"title": i.title, "reason": i.reason, "followup": by_key.pop(i.key, None)}
        for i in items
        if i.state == ChecklistItem.State.WAIVED
    ]
    waivers += [{"title": f.item_title, "reason": f.waiver_reason, "followup": f} for f in by_key.values()]
    team_debt = []
    if (
        release.kind == Release.Kind.STANDARD
        and release.status == Release.Status.DRAFT
        and facts.role(request.user)
    ):
        team_debt = list(followups.open_for_team(release.team_id).order_by("due_date", "id"))
    return {
        "shipping": facts.shipping,
        "waivers": waivers,
        "team_debt": team_debt,
        "today": timezone.localdate(),
        "freeze_windows": windows,
        "can_override_freeze": may.may("override_freeze"),
        "can_override_range": may.may("override_range"),
        "can_read_range_again": may.may("read_range_again"),
        "required_groups": review.group_rows(release, facts),
        "approval_valid_days": release.team.approval_valid_days,
    }


def _back(request: HttpRequest, release: Release) -> str:
    """The page the form was posted from: the review page (`next=review`) or the release page."""
    name = "checklists:release_review" if request.POST.get("next") == "review" else "checklists:release"
    return reverse(name, args=[release.pk])


@login_required
@require_POST
def followup_close(request: HttpRequest, pk: int) -> HttpResponse:
    followup = (
        FollowUp.objects.filter(pk=pk, team__in=permissions.readable_teams(request.user))
        .select_related("release")
        .first()
    )
    if followup is None:
        raise Http404("No such follow-up.")
    try:
        workflow.close_followup(followup.pk, actor=request.user, evidence=request.POST.get("evidence", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, f"Follow-up “{followup.item_title}” closed.")
    back = request.POST.get("back", "")
    if (
        back.isdigit() and len(back) < 19
    ):  # the release page the form was on (a hotfix's or the blocked one's)
        return redirect(reverse("checklists:release", args=[int(back)]))
    if request.POST.get("next") == "release":
        return redirect(reverse("checklists:release", args=[followup.release_id]))
    return redirect(reverse("checklists:dashboard"))


@login_required
@require_POST
def range_override(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.override_range(release.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(
        request, "Approval allowed without reading what ships, for this hotfix; the override is audited."
    )
    return redirect(_back(request, release) + "#shipping")


@login_required
@require_POST
def range_read(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.request_range_read(release.pk, actor=request.user)
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "A worker reads what ships again; this page shows it when it is done.")
    return redirect(_back(request, release) + "#shipping")


@login_required
@require_POST
def freeze_override(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.override_freeze(release.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "Freeze overridden for this hotfix; the override is in the audit trail.")
    return redirect(_back(request, release))
