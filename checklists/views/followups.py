"""Close a hotfix waiver's follow-up with evidence, from the release page or the dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import WorkflowError
from ..models import FollowUp
from ..policy import permissions
from .common import refusal


@login_required
@require_POST
def followup_close(request: HttpRequest, pk: int) -> HttpResponse:
    followup = (
        FollowUp.objects.filter(pk=pk, team__in=permissions.readable_teams(request.user))
        .select_related("release")
        .first()
    )
    if followup is None:
        raise Http404("No such follow-up.")
    try:
        workflow.close_followup(followup.pk, actor=request.user, evidence=request.POST.get("evidence", ""))
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, f"Follow-up “{followup.item_title}” closed.")
    back = request.POST.get("back", "")
    if (
        back.isdigit() and len(back) < 19
    ):  # the release page the form was on (a hotfix's or the blocked one's)
        return redirect(reverse("checklists:release", args=[int(back)]))
    if request.POST.get("next") == "release":
        return redirect(reverse("checklists:release", args=[followup.release_id]))
    return redirect(reverse("checklists:dashboard"))
