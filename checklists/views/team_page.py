"""The team page (/teams/<slug>/) that every team view renders, and the way each form changes it.

Each form posts to its own URL; the view calls the workflow through `team_change`, and a
refusal re-renders the page with the form's errors beside its fields and the refusal's status.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from ..errors import InvalidInput, NotFound, WorkflowError
from ..models import FreezeWindow, Membership, Repository, ReviewerGroup, Team, Webhook
from ..policy import teams as team_policy
from ..workflow import checklist_versions
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import (
    ApprovalRulesForm,
    FreezeForm,
    MemberAddForm,
    MemberChangeForm,
    NotificationsForm,
    ProbesForm,
    QueueOwnerForm,
    RepositoryForm,
    ReviewerGroupForm,
    WebhookCreateForm,
)


def team_or_404(request: HttpRequest, slug: str) -> Team:
    team = team_policy.readable_team(request.user, slug)
    if team is None:
        raise Http404("No such team.")
    return team


def team_url(team: Team, anchor: str = "") -> str:
    url = reverse("checklists:team", args=[team.slug])
    return f"{url}#{anchor}" if anchor else url


def _initial_settings(team: Team) -> dict:
    return {
        "required_approvals": team.required_approvals,
        "approval_valid_days": team.approval_valid_days,
        "allow_commit_authors_to_review": team.allow_commit_authors_to_review,
        "followup_due_working_days": team.followup_due_working_days,
        "probe_endpoints": "\n".join(team.probe_endpoints or []),
        "probe_public_allowlist": "\n".join(team.probe_public_allowlist or []),
        "production_config_globs": "\n".join(team.production_config_globs or []),
        "notify_email": team.notify_email,
        "notify_events": list(team.notify_events or []),
    }


def team_context(request: HttpRequest, team: Team, **bound) -> dict:
    """Everything the team page shows; `bound` replaces a blank form with a submitted one."""
    manage = team_policy.may_manage(request.user, team)
    memberships = list(Membership.objects.filter(team=team).select_related("user").order_by("user__username"))
    owners = [m for m in memberships if m.owner]
    groups = list(ReviewerGroup.objects.filter(team=team).prefetch_related("members"))
    initial = _initial_settings(team)
    for membership in memberships:
        membership.form = MemberChangeForm(
            initial={"role": membership.role, "owner": membership.owner}, prefix=f"m{membership.user_id}"
        )
    for group in groups:
        group.form = bound.pop(f"group_{group.pk}", None) or ReviewerGroupForm(
            initial={
                "name": group.name,
                "required": group.required,
                "members": [str(m.pk) for m in group.members.all()],
            },
            people=memberships,
            prefix=f"g{group.pk}",
        )
    context = {
        "team": team,
        "may_manage": manage,
        "is_staff": team_policy.is_staff(request.user),
        "memberships": memberships,
        "owners": owners,
        "groups": groups,
        "warnings": team_policy.approval_warnings(team),
        "repositories": list(Repository.objects.filter(team=team).order_by("archived", "location")),
        "freezes": list(
            FreezeWindow.objects.filter(team=team, ends_at__gt=timezone.now()).order_by("starts_at")
        ),
        "now": timezone.now(),
        "webhooks": list(Webhook.objects.filter(team=team).order_by("id")),
        "may_add_webhook": team_policy.may_create_webhook(request.user, team),
        "checklist": checklist_versions.in_use(team),
        "draft": checklist_versions.draft_of(team),
        "approvals_form": ApprovalRulesForm(initial=initial),
        "probes_form": ProbesForm(initial=initial),
        "notifications_form": NotificationsForm(initial=initial),
        "member_form": MemberAddForm(),
        "queue_owner_form": QueueOwnerForm(initial={"user": team.owner_id}, owners=owners),
        "group_form": ReviewerGroupForm(people=memberships, prefix="new-group"),
        "freeze_form": FreezeForm(),
        "webhook_form": WebhookCreateForm(),
        "repository_form": RepositoryForm(),
        "new_secret": None,
        "page_error": None,
    }
    context.update(bound)
    return context


def team_page(request: HttpRequest, team: Team, *, status: int = 200, **bound) -> HttpResponse:
    return render(request, "checklists/team.html", team_context(request, team, **bound), status=status)


def team_change(
    request: HttpRequest,
    team: Team,
    *,
    form: forms.Form,
    form_name: str,
    change: Callable[[dict], object],
    done: str,
    anchor: str,
) -> HttpResponse:
    """Validate `form`, apply `change` through the workflow, redirect to the section or show why not."""
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    if not form.is_valid():
        return team_page(request, team, status=400, **{form_name: form})
    try:
        change(form.cleaned_data)
    except InvalidInput as exc:
        add_workflow_errors(form, exc)
        return team_page(request, team, status=400, **{form_name: form})
    except NotFound as exc:
        raise Http404(exc.message) from None
    except WorkflowError as exc:
        return team_page(request, team, status=exc.status, page_error=exc)
    messages.success(request, done)
    return redirect(team_url(team, anchor))
