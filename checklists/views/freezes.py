"""Deploy freezes: planned and ended on the team page, overridden for a hotfix on the release page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import WorkflowError
from .common import back_to_page, readable_release, refusal
from .team_forms import FreezeForm
from .team_page import team_change, team_or_404


@login_required
@require_POST
def freeze_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    return team_change(
        request,
        team,
        form=FreezeForm(request.POST),
        form_name="freeze_form",
        change=lambda d: workflow.add_freeze_window(
            team, actor=request.user, starts_at=d["starts_at"], ends_at=d["ends_at"], reason=d["reason"]
        ),
        done="Freeze window planned.",
        anchor="freezes",
    )


@login_required
@require_POST
def freeze_end(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_or_404(request, slug)
    return team_change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="freeze_end_form",
        change=lambda d: workflow.end_freeze_window(team, actor=request.user, window=pk),
        done="Freeze window ended.",
        anchor="freezes",
    )


@login_required
@require_POST
def freeze_override(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.override_freeze(release.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "Freeze overridden for this hotfix; the override is in the audit trail.")
    return redirect(back_to_page(request, release))
