"""The team page's reviewer groups (security, release-eng): saved and deleted by its owners."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from .. import workflow
from ..models import Membership
from .team_forms import ReviewerGroupForm
from .team_page import team_change, team_or_404


@login_required
@require_POST
def group_save(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    team = team_or_404(request, slug)
    people = Membership.objects.filter(team=team).select_related("user")
    prefix = f"g{pk}" if pk else "new-group"
    form = ReviewerGroupForm(request.POST, people=people, prefix=prefix)
    return team_change(
        request,
        team,
        form=form,
        form_name=f"group_{pk}" if pk else "group_form",
        change=lambda d: workflow.save_reviewer_group(
            team,
            actor=request.user,
            name=d["name"],
            required=d["required"],
            members=[int(v) for v in d["members"]],
            group=pk,
        ),
        done="Reviewer group saved.",
        anchor="groups",
    )


@login_required
@require_POST
def group_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_or_404(request, slug)
    return team_change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="group_delete_form",
        change=lambda d: workflow.delete_reviewer_group(team, actor=request.user, group=pk),
        done="Reviewer group deleted.",
        anchor="groups",
    )
