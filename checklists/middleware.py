"""Answer 503, not 500, while the database is unreachable (docs/reliability.md).

A view that cannot reach PostgreSQL (restart, failover, network) raises
OperationalError or InterfaceError. That is not a bug in the request: the client
should retry, so it gets 503 with Retry-After, JSON under /api/ and a plain page
elsewhere, rendered without touching the database. Django drops the broken
connection at the end of the request (CONN_HEALTH_CHECKS re-checks it on the next
one), so the application recovers without a restart when the database is back.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>releasegate is unavailable</title></head>
<body><h1>releasegate is briefly unavailable</h1>
<p>Its database does not answer. Nothing was changed by this request; try again in a few seconds.</p>
</body></html>
"""


def unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {
            "error": {
                "code": "unavailable",
                "message": "The database does not answer; nothing was changed. Retry shortly.",
                "details": None,
            }
        }
        response = JsonResponse(body, status=503)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a 503 the client can retry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable: %s %s", request.method, request.path, exc_info=True)
            return unavailable(request)
        return None
