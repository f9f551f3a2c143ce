"""The team page's webhooks: registered (the secret is shown this once), paused and resumed."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import InvalidInput, WorkflowError
from ..policy import teams as team_policy
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import WebhookCreateForm
from .team_page import team_change, team_or_404, team_page


@login_required
@require_POST
def webhook_create(request: HttpRequest, slug: str) -> HttpResponse:
    """Register a hook; the page answers with its secret, shown this once (never stored in a message)."""
    team = team_or_404(request, slug)
    if not team_policy.may_create_webhook(request.user, team):
        return refusal(
            request,
            team_policy.manage_refusal(request.user, team)
            or WorkflowError("Only owners and reviewers register webhooks."),
        )
    form = WebhookCreateForm(request.POST)
    if not form.is_valid():
        return team_page(request, team, status=400, webhook_form=form)
    try:
        created = workflow.create_webhook(
            team, actor=request.user, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
        )
    except InvalidInput as exc:
        add_workflow_errors(form, exc)
        return team_page(request, team, status=400, webhook_form=form)
    except WorkflowError as exc:
        return refusal(request, exc)
    response = team_page(
        request, team, status=201, new_secret={"webhook": created.webhook, "secret": created.secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def webhook_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_or_404(request, slug)
    active = request.POST.get("active")
    return team_change(
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
