"""A team's registered repositories, on a page: members read them, the owner or staff registers."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import permissions, workflow
from ..errors import InvalidInput, NotAllowed, WorkflowError
from ..forms import add_workflow_errors
from ..models import REPOSITORY_MAX, Repository, Team
from ..workflow.repositories import may_manage
from .common import refusal


class RepositoryForm(forms.Form):
    location = forms.CharField(
        max_length=REPOSITORY_MAX,
        help_text="https://host/path or ssh://git@host/path (or git@host:path) on an allowed git host.",
    )
    username = forms.CharField(max_length=100, required=False, help_text="https: the token's user name.")
    token = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="https: a read-only token. Stored server-side, never shown again.",
    )
    ssh_key = forms.CharField(
        max_length=20_000,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        label="SSH deploy key",
        help_text="ssh: a read-only private deploy key. Stored server-side, never shown again.",
    )


def _team(request: HttpRequest, slug: str) -> Team:
    team = permissions.readable_teams(request.user).filter(slug=slug).first()
    if team is None and request.user.is_staff:
        team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


@login_required
@require_http_methods(["GET", "POST"])
def team_repositories(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    manage = may_manage(request.user, team)
    form = RepositoryForm(request.POST or None) if manage else None
    if request.method == "POST":
        if not manage:
            return refusal(
                request, NotAllowed(f"Only team {team.slug}'s owner or staff may register repositories.")
            )
        if form.is_valid():
            data = form.cleaned_data
            try:
                repository = workflow.register_repository(
                    team,
                    actor=request.user,
                    location=data["location"],
                    credentials=workflow.Credentials(data["username"], data["token"], data["ssh_key"]),
                )
            except InvalidInput as exc:
                add_workflow_errors(form, exc)
            except WorkflowError as exc:
                return refusal(request, exc)
            else:
                messages.success(request, f"Registered {repository.location}.")
                return redirect(reverse("checklists:team_repositories", args=[team.slug]))
    repositories = Repository.objects.filter(team=team).order_by("archived", "location")
    return render(
        request,
        "checklists/team_repositories.html",
        {"team": team, "repositories": repositories, "form": form, "may_manage": manage},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def repository_archive(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team(request, slug)
    repository = Repository.objects.filter(team=team, pk=pk).first()
    if repository is None:
        raise Http404("No such repository.")
    try:
        workflow.update_repository(
            repository, actor=request.user, archived=request.POST.get("archived") == "1"
        )
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(
        request,
        f"{repository.location}: {'archived' if request.POST.get('archived') == '1' else 'in use again'}.",
    )
    return redirect(reverse("checklists:team_repositories", args=[team.slug]))
