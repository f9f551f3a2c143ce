"""The release form: open a release, edit its fields."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .. import workflow
from ..errors import InvalidInput, WorkflowError
from ..policy import permissions
from .common import readable_release, refusal, release_url
from .release_forms import ReleaseEditForm, ReleaseForm, add_workflow_errors


@login_required
@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest) -> HttpResponse:
    teams = permissions.writable_teams(request.user).order_by("name")
    form = ReleaseForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            release = workflow.create_release(
                actor=request.user, team=form.cleaned_data["team"], data=form.workflow_data()
            )
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return refusal(request, exc)
        else:
            messages.success(request, f"Release #{release.pk} opened as a draft. Work through its checklist.")
            return redirect(release_url(release))
    # A refused form comes back with its errors and a 400, like a refusal from the API.
    status = 400 if request.method == "POST" else 200
    return render(request, "checklists/release_form.html", {"form": form, "teams": teams}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def release_edit(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    form = ReleaseEditForm.for_release(release, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workflow.update_release(release.pk, actor=request.user, data=form.changed_values())
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return refusal(request, exc)
        else:
            if form.has_changed():
                messages.success(request, "Release updated.")
            return redirect(release_url(release))
    status = 400 if request.method == "POST" else 200
    return render(request, "checklists/release_form.html", {"form": form, "release": release}, status=status)
