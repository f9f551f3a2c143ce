from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .permissions import readable_releases


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    releases = readable_releases(request.user).with_related()[:50]
    return render(request, "checklists/dashboard.html", {"releases": releases})
