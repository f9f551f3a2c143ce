"""What ships: read it again, or let a hotfix be approved while it cannot be read (a reviewer says why)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import WorkflowError
from .common import back_to_page, readable_release, refusal


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
    return redirect(back_to_page(request, release) + "#shipping")


@login_required
@require_POST
def range_read(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    try:
        workflow.request_range_read(release.pk, actor=request.user)
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "A worker reads what ships again; this page shows it when it is done.")
    return redirect(back_to_page(request, release) + "#shipping")
