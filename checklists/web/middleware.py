"""Request plumbing: a usable request id, one access log line per request, and a 503 (not a
500) while the database is unreachable (docs/reliability.md).

RequestHeadersMiddleware (first in MIDDLEWARE, before django-guid) makes incoming headers
safe to use: CR, LF and NUL in a header value become spaces, as RFC 9110 section 5.5 asks
of a recipient that does not reject the message (gunicorn rejects it; runserver and other
servers pass it on, and PostgreSQL refuses NUL in the text django-axes stores from
User-Agent and Accept). Then an X-Request-ID that is not 1 to 128 visible ASCII characters
is dropped, and django-guid makes a new id. A folded header (`abc\r\n def`) used to reach
the response header and fail the request with a 500.

AccessLogMiddleware (right after django-guid) writes one line per request, on logger
`releasegate.access`: correlation id (from the log filter), method, path, status,
duration and user id (JSON fields in production). Password-reset links carry a token in
their path; it is never written.

DatabaseUnavailableMiddleware: a view that cannot reach PostgreSQL (restart, failover,
network) raises OperationalError or InterfaceError. That is not a bug in the request: the
client should retry, so it gets 503 with Retry-After, JSON under /api/ and a plain page
elsewhere, rendered without touching the database. Django drops the broken connection at
the end of the request (CONN_HEALTH_CHECKS re-checks it on the next one), so the
application recovers without a restart when the database is back.

A 503 says "nothing was changed" only when that is true: if a workflow write of this
request committed before the connection was lost (checklists/workflow/transactions.py
counts them), the answer says the change was saved and only its answer was lost.
"""

from __future__ import annotations

import logging
import re
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import empty

from .. import committed

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("releasegate.access")

REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# A UUID, a pipeline's run id, a trace id: visible ASCII, no spaces, no line breaks.
REQUEST_ID_RE = re.compile(r"[!-~]{1,128}")
# /accounts/reset/<uidb64>/<token>/: the token signs a password change; never log it.
RESET_LINK_RE = re.compile(r"(/accounts/reset/)[^/\s'\"]+/(?!set-password/)[^/\s'\"]+/")
PATH_LOG_MAX = 500


# https://www.rfc-editor.org/rfc/rfc9110#section-5.5: CR, LF and NUL in a field value
# are "invalid and dangerous"; a recipient rejects the message or replaces each with SP.
DANGEROUS_IN_HEADERS = re.compile(r"[\r\n\x00]")


class RequestHeadersMiddleware:
    """Replace CR, LF and NUL in header values; drop a client's X-Request-ID that is not a plain token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        for name, value in list(meta.items()):
            is_header = name.startswith("HTTP_") or name == "CONTENT_TYPE"
            if is_header and isinstance(value, str) and DANGEROUS_IN_HEADERS.search(value):
                meta[name] = DANGEROUS_IN_HEADERS.sub(" ", value)
        given = meta.get(REQUEST_ID_META)
        refused = given is not None and not REQUEST_ID_RE.fullmatch(given)
        if refused:
            del meta[REQUEST_ID_META]
        response = self.get_response(request)
        if refused:
            # Logged after django-guid ran, so the line carries the request's new id.
            logger.warning("X-Request-ID %.80r refused: not 1 to 128 visible ASCII characters", given)
        return response


def hide_reset_tokens(text: str) -> str:
    return RESET_LINK_RE.sub(r"\1***/***/", text)


class HideResetTokens(logging.Filter):
    """Hide password-reset tokens in any log line (Django's own "Not Found: <path>" among them).

    Set on the console handler (settings.LOGGING), so it covers every logger, and the
    request that django.request attaches to its records (JSON logs print it).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/reset/" in message:
            record.msg, record.args = hide_reset_tokens(message), ()
        request = getattr(record, "request", None)
        if request is not None and "/reset/" in str(getattr(request, "path", "")):
            record.request = hide_reset_tokens(repr(request))
        return True


def loggable_path(path: str) -> str:
    """The path as it may be logged: reset tokens hidden, control characters escaped, capped."""
    path = hide_reset_tokens(path)
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    return path[:PATH_LOG_MAX]


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id if the request already knows it (never a query of its own)."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None  # the session was never read: asking now could hit a database that is down
    return user.pk if getattr(user, "is_authenticated", False) else None


class AccessLogMiddleware:
    """One line per request: method, path, status, duration and user id (the filter adds the id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        method = loggable_path(request.method or "")[:16]
        path = loggable_path(request.path)
        user_id = _user_id(request)
        access_logger.info(
            "%s %s %s %.1fms user=%s",
            method,
            path,
            response.status_code,
            duration_ms,
            user_id if user_id is not None else "-",
            extra={
                "method": method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
            },
        )
        return response


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
        token = committed.reset()
        try:
            return self.get_response(request)
        finally:
            committed.restore(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            saved = committed.count() > 0
            logger.warning(
                "database unavailable%s: %s %s",
                " after a committed change" if saved else "",
                request.method,
                request.path,
                exc_info=True,
            )
            return unavailable(request, saved=saved)
        return None
