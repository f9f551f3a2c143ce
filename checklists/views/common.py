"""What every page view shares: the release one may read, how a workflow refusal is shown, where a form goes back to."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from ..errors import NotFound, WorkflowError
from ..models import Release
from ..policy.permissions import get_release_for_user


def readable_release(request: HttpRequest, pk: int) -> Release:
    """The release if this user may read it; a 404 otherwise, never a hint that it exists."""
    try:
        return get_release_for_user(request.user, pk, page_rows=True)
    except NotFound as exc:
        raise Http404(exc.message) from None


def refusal(request: HttpRequest, exc: WorkflowError) -> HttpResponse:
    """Render a workflow refusal with its HTTP status: an alert for htmx, a page otherwise."""
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    template = "checklists/partials/_refusal.html" if request.htmx else "checklists/refused.html"
    return render(request, template, {"error": exc}, status=exc.status)


def blocking_list(exc: WorkflowError) -> list[dict]:
    """The blocking items a refusal names (BlockedError.details), else nothing."""
    details = exc.details
    if isinstance(details, list):
        return [row for row in details if isinstance(row, dict)]
    return []


def back_to_page(request: HttpRequest, release: Release) -> str:
    """The page the form was posted from: the review page (`next=review`) or the release page."""
    name = "checklists:release_review" if request.POST.get("next") == "review" else "checklists:release"
    return reverse(name, args=[release.pk])


def release_url(release: Release, anchor: str = "") -> str:
    url = reverse("checklists:release", args=[release.pk])
    return f"{url}#{anchor}" if anchor else url
