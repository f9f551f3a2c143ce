"""The team pages: /teams/, /teams/new/ and /teams/<slug>/ with its settings and its people.

Members (and managers) read a team's page; its owners and staff change it (checklists/workflow/teams.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import workflow
from ..errors import InvalidInput, WorkflowError
from ..models import Membership, Team
from ..policy import permissions
from ..policy import teams as team_policy
from ..workflow.teams import team_creation_refusal
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import (
    ApprovalRulesForm,
    MemberAddForm,
    MemberChangeForm,
    NotificationsForm,
    ProbesForm,
    QueueOwnerForm,
    TeamCreateForm,
)
from .team_page import team_change, team_or_404, team_page, team_url

SECTIONS = {
    "approvals": (ApprovalRulesForm, "approvals", "Approval rules saved."),
    "probes": (ProbesForm, "probes", "Probe endpoints and configuration files saved."),
    "notifications": (NotificationsForm, "notifications", "Notification settings saved."),
}


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    teams = permissions.readable_teams(user)
    if team_policy.is_staff(user):
        teams = Team.objects.all()
    mine = dict(Membership.objects.filter(user=user).values_list("team_id", "owner"))
    rows = [
        {"team": t, "member": t.pk in mine, "owner": mine.get(t.pk, False)} for t in teams.order_by("name")
    ]
    return render(
        request,
        "checklists/team_list.html",
        {"rows": rows, "may_create": team_creation_refusal(user) is None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    if refused := team_creation_refusal(request.user):
        return refusal(request, refused)
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = workflow.create_team(
                actor=request.user, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"]
            )
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return refusal(request, exc)
        else:
            messages.success(
                request,
                f"Team {team.name} is open and you are its owner. Add its people, register its "
                "repositories and set its rules below.",
            )
            return redirect(team_url(team))
    return render(request, "checklists/team_new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return team_page(request, team_or_404(request, slug))


@login_required
@require_POST
def team_settings(request: HttpRequest, slug: str, section: str) -> HttpResponse:
    team = team_or_404(request, slug)
    if section not in SECTIONS:
        raise Http404("No such settings section.")
    form_class, anchor, done = SECTIONS[section]
    form = form_class(request.POST)

    def change(data: dict) -> None:
        values = form.workflow_data() if hasattr(form, "workflow_data") else data
        workflow.update_team_settings(team, actor=request.user, changes=values)

    return team_change(
        request, team, form=form, form_name=f"{section}_form", change=change, done=done, anchor=anchor
    )


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    return team_change(
        request,
        team,
        form=MemberAddForm(request.POST),
        form_name="member_form",
        change=lambda d: workflow.add_member(
            team, actor=request.user, user=d["user"], role=d["role"], owner=d["owner"]
        ),
        done="Added to the team.",
        anchor="people",
    )


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = team_or_404(request, slug)
    form = MemberChangeForm(request.POST, prefix=f"m{user_id}")
    return team_change(
        request,
        team,
        form=form,
        form_name="member_change_form",
        change=lambda d: workflow.change_member(
            team, actor=request.user, user=user_id, role=d["role"], owner=d["owner"]
        ),
        done="Role saved.",
        anchor="people",
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = team_or_404(request, slug)
    return team_change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="remove_form",
        change=lambda d: workflow.remove_member(team, actor=request.user, user=user_id),
        done="Removed from the team.",
        anchor="people",
    )


@login_required
@require_POST
def queue_owner(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    owners = Membership.objects.filter(team=team, owner=True).select_related("user")
    return team_change(
        request,
        team,
        form=QueueOwnerForm(request.POST, owners=owners),
        form_name="queue_owner_form",
        change=lambda d: workflow.set_queue_owner(team, actor=request.user, user=int(d["user"])),
        done="Named owner saved.",
        anchor="people",
    )
