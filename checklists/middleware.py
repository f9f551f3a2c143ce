"""Answer 503, not 500, while the database is unreachable (docs/reliability.md).

A view that cannot reach PostgreSQL (restart, failover, network) raises
OperationalError or InterfaceError. That is not a bug in the request: the client
should retry, so it gets 503 with Retry-After, JSON under /api/ and a plain page
elsewhere, rendered without touching the database. Django drops the broken
connection at the end of the request (CONN_HEALTH_CHECKS re-checks it on the next
one), so the application recovers without a restart when the database is back.

A 503 says "nothing was changed" only when that is true: if a workflow write of this
request committed before the connection was lost (checklists/workflow/transactions.py
counts them), the answer says the change was saved and only its answer was lost.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from .workflow.transactions import committed_writes, reset_committed_writes, restore_committed_writes

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>releasegate is unavailable</title></head>
<body><h1>releasegate is briefly unavailable</h1>
<p>Its database does not answer. Nothing was changed by this request; try again in a few seconds.</p>
</body></html>
"""


SAVED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Saved, but not shown</title></head>
<body><h1>Your change was saved</h1>
<p>The database connection was lost after your change was stored, so this page could not be
shown. Go back and reload the release to see it; there is no need to repeat the change.</p>
</body></html>
"""
SAVED_MESSAGE = (
    "Your change was saved, but the answer could not be read back: the database connection was "
    "lost after it committed. GET the release to see the result; do not repeat a POST that "
    "creates something unless you send the same Idempotency-Key (other changes are refused "
    "or change nothing when repeated)."
)


def unavailable(request: HttpRequest, *, saved: bool = False) -> HttpResponse:
    if request.path.startswith("/api/"):
        if saved:
            error = {"code": "saved_answer_lost", "message": SAVED_MESSAGE, "details": None}
        else:
            error = {
                "code": "unavailable",
                "message": "The database does not answer; nothing was changed. Retry shortly.",
                "details": None,
            }
        response = JsonResponse({"error": error}, status=503)
    else:
        page = SAVED_PAGE if saved else PAGE
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a 503 the client can retry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = reset_committed_writes()
        try:
            return self.get_response(request)
        finally:
            restore_committed_writes(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            saved = committed_writes() > 0
            logger.warning(
                "database unavailable%s: %s %s",
                " after a committed change" if saved else "",
                request.method,
                request.path,
                exc_info=True,
            )
            return unavailable(request, saved=saved)
        return None
