"""The managers' metrics page (checklists/web/delivery_metrics.py computes it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..errors import NotAllowed
from ..models import Release
from ..policy import permissions
from ..web import delivery_metrics
from .common import refusal


@login_required
@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (user.is_superuser or permissions.is_manager(user)):
        return refusal(request, NotAllowed("Metrics are for managers."))
    teams = list(permissions.readable_teams(user).order_by("name"))
    chosen = next((team for team in teams if team.slug == request.GET.get("team")), None)
    scope = Release.objects.filter(team=chosen) if chosen else Release.objects.all()
    summary = delivery_metrics.summarize(chosen.name if chosen else "All teams", scope, detailed=True)
    rows = [delivery_metrics.summarize(team.name, Release.objects.filter(team=team)) for team in teams]
    rows.append(delivery_metrics.summarize("All teams", Release.objects.all()))
    return render(
        request,
        "checklists/metrics.html",
        {
            "teams": teams,
            "chosen": chosen,
            "summary": summary,
            "rows": rows,
            "chart_data": delivery_metrics.chart_data(summary),
        },
    )
