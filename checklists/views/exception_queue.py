"""The exception queue: current scans that ended in error, with their owners; re-run one from here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import workflow
from ..errors import WorkflowError
from ..models import ScanRun
from ..policy import permissions
from .common import readable_release, refusal


def _exceptions(teams):
    return ScanRun.objects.exceptions().filter(release__team__in=teams)


@login_required
@require_GET
def exception_queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    runs = list(
        _exceptions(permissions.readable_teams(user))
        .select_related("release", "release__team", "owner")
        .order_by("release__team__name", "queued_at")
    )
    now = timezone.now()
    for run in runs:
        run.age = now - (run.finished_at or run.queued_at)
    writable = set(permissions.writable_teams(user).values_list("pk", flat=True))
    return render(request, "checklists/exceptions.html", {"runs": runs, "writable": writable})


@login_required
@require_POST
def rerun_scan(request: HttpRequest, run_id: int) -> HttpResponse:
    """Re-run one scan from the exception queue."""
    run = ScanRun.objects.filter(pk=run_id).values("release_id", "scanner").first()
    if run is None:
        raise Http404("No such scan run.")
    release = readable_release(request, run["release_id"])
    try:
        workflow.request_scans(release.pk, actor=request.user, scanners=[run["scanner"]], force=True)
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, f"Re-running {run['scanner']} on release #{release.pk}.")
    return redirect("checklists:exceptions")
