"""The team page's registered repositories: registered by its owners or staff, archived, in use again."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from .. import workflow
from ..models import Repository
from .team_forms import RepositoryForm
from .team_page import team_change, team_or_404, team_url


@login_required
@require_http_methods(["GET", "POST"])
def team_repositories(request: HttpRequest, slug: str) -> HttpResponse:
    """The repositories section of the team page; its old URL still registers (POST) and redirects (GET)."""
    team = team_or_404(request, slug)
    if request.method == "GET":
        return redirect(team_url(team, "repositories"))
    form = RepositoryForm(request.POST)

    def register(data: dict) -> None:
        repository = workflow.register_repository(
            team,
            actor=request.user,
            location=data["location"],
            credentials=workflow.Credentials(data["username"], data["token"], data["ssh_key"]),
        )
        messages.info(request, f"Registered {repository.location}.")

    return team_change(
        request,
        team,
        form=form,
        form_name="repository_form",
        change=register,
        done="Workers read it; releases of the team may name it now.",
        anchor="repositories",
    )


@login_required
@require_POST
def repository_archive(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_or_404(request, slug)
    if not Repository.objects.filter(team=team, pk=pk).exists():
        raise Http404("No such repository.")
    archived = request.POST.get("archived") == "1"
    return team_change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="archive_form",
        change=lambda d: workflow.update_repository(pk, actor=request.user, archived=archived),
        done="Archived: it takes no new releases." if archived else "In use again.",
        anchor="repositories",
    )
