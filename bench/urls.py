"""releasegate's URLs plus two trivial authenticated views: the ceiling of bench/load.py.

They run through the same middleware, session or token authentication and database
as every page and endpoint; they only skip the work. They exist only under
bench/settings.py, never in the application's own URLs.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from releasegate.urls import urlpatterns as releasegate_urls


@login_required
def ceiling(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"ok {request.user.get_username()}", content_type="text/plain")


class CeilingAPI(APIView):
    def get(self, request):
        return Response({"ok": True, "user": request.user.get_username()})


urlpatterns = [
    path("bench/ceiling/", ceiling),
    path("bench/ceiling-api/", CeilingAPI.as_view()),
    *releasegate_urls,
]
