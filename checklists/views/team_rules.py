"""The team page's rules sections: reviewer groups, deploy freezes and webhooks.

Same pattern as checklists/views/teams.py: each form posts to its own URL, the view calls the
workflow (checklists/workflow/team_rules.py), a refusal re-renders the team page.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import InvalidInput, WorkflowError
from ..models import Membership
from ..policy import teams as team_policy
from ..workflow.team_rules import may_create_webhook
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import FreezeForm, ReviewerGroupForm, WebhookCreateForm
from .teams import _change, _page, _team

# --- reviewer groups -------------------------------------------------------------------------


@login_required
@require_POST
def group_save(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    team = _team(request, slug)
    people = Membership.objects.filter(team=team).select_related("user")
    prefix = f"g{pk}" if pk else "new-group"
    form = ReviewerGroupForm(request.POST, people=people, prefix=prefix)
    return _change(
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
    team = _team(request, slug)
    return _change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="group_delete_form",
        change=lambda d: workflow.delete_reviewer_group(team, actor=request.user, group=pk),
        done="Reviewer group deleted.",
        anchor="groups",
    )


# --- freeze windows ------------------------------------------------------------------------------


@login_required
@require_POST
def freeze_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    return _change(
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
    team = _team(request, slug)
    return _change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="freeze_end_form",
        change=lambda d: workflow.end_freeze_window(team, actor=request.user, window=pk),
        done="Freeze window ended.",
        anchor="freezes",
    )


# --- webhooks ----------------------------------------------------------------------------------


@login_required
@require_POST
def webhook_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Register a hook; the page answers with its secret, shown this once (never stored in a message)."""
    team = _team(request, slug)
    if not may_create_webhook(request.user, team):
        return refusal(
            request,
            team_policy.manage_refusal(request.user, team)
            or WorkflowError("Only owners and reviewers register webhooks."),
        )
    form = WebhookCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, team, status=400, webhook_form=form)
    try:
        created = workflow.create_webhook(
            team, actor=request.user, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
        )
    except InvalidInput as exc:
        add_workflow_errors(form, exc)
        return _page(request, team, status=400, webhook_form=form)
    except WorkflowError as exc:
        return refusal(request, exc)
    response = _page(
        request, team, status=201, new_secret={"webhook": created.webhook, "secret": created.secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def webhook_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team(request, slug)
    active = request.POST.get("active")
    return _change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="webhook_update_form",
        change=lambda d: workflow.update_webhook(
            team, actor=request.user, webhook=pk, active=active == "1" if active in ("0", "1") else None
        ),
        done="Webhook saved.",
        anchor="webhooks",
    )
