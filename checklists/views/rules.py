"""Pages of the rules beyond the gate: follow-ups, freeze and range overrides, re-reading what ships."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import approvals, permissions, workflow
from ..abilities import Abilities, Facts
from ..errors import WorkflowError
from ..models import FollowUp, Release, ReviewerGroup, SignOff
from .common import readable_release, refusal


def rules_context(
    request: HttpRequest, release: Release, signoffs: list, items: list, facts: Facts, may: Abilities
) -> dict:
    """What the release page shows about follow-ups, freezes, groups, expiry and what ships."""
    now = timezone.now()
    for signoff in signoffs:
        signoff.expires_at = approvals.expires_at(signoff, release)
        signoff.expired = bool(signoff.expires_at and signoff.expires_at <= now)
        try:
            saved = signoff.snapshot.state
        except SignOff.snapshot.RelatedObjectDoesNotExist:
            saved = None  # given before snapshots were kept
        signoff.changes = approvals.changes_since(saved, release, items) if saved else []
    windows = facts.freeze_windows if release.is_open_for_changes else []
    groups = list(
        ReviewerGroup.objects.filter(team_id=release.team_id, required=True).prefetch_related("members")
    )
    filled = {}
    if groups:
        counting = facts.counting
        assigned, _ = approvals.group_assignment(release, {s.reviewer_id for s in counting})
        names = {s.reviewer_id: s.reviewer.get_username() for s in counting}
        filled = {group: names.get(person) for group, person in assigned.items()}
    return {
        "shipping": facts.shipping,
        "release_followups": list(release.followups.select_related("owner", "closed_by")),
        "freeze_windows": windows,
        "can_override_freeze": may.may("override_freeze"),
        "can_override_range": may.may("override_range"),
        "can_read_range_again": may.may("read_range_again"),
        "required_groups": [{"name": g.name, "filled_by": filled.get(g.name)} for g in groups],
        "approval_valid_days": release.team.approval_valid_days,
    }


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
    return redirect(reverse("checklists:release", args=[release.pk]) + "#shipping")


@login_required
@require_POST
def range_read(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.request_range_read(release.pk, actor=request.user)
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "A worker reads what ships again; this page shows it when it is done.")
    return redirect(reverse("checklists:release", args=[release.pk]) + "#shipping")


@login_required
@require_POST
def freeze_override(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.override_freeze(release.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "Freeze overridden for this hotfix; the override is in the audit trail.")
    return redirect(reverse("checklists:release", args=[release.pk]))
