"""/healthz for load balancers and /metrics for Prometheus (docs/runbook.md explains each number)."""

from __future__ import annotations

import logging

from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from releasegate.celery import app as celery_app

from ..models import EmailFailure, Release, ScanRun
from ..policy.permissions import is_manager

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; the log says which
        logger.warning("health check: database unreachable", exc_info=True)
        return False


def broker_reachable() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
        return True
    except Exception:  # noqa: BLE001 - as above
        logger.warning("health check: broker unreachable", exc_info=True)
        return False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the broker answer, 503 otherwise; no detail beyond that."""
    checks = {"database": database_reachable(), "broker": broker_reachable()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)


# --- /metrics ----------------------------------------------------------------------


def _authenticated_user(request: HttpRequest):
    """The user of an `Authorization: Token` header, else of the session, else None."""
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if found:
        return found[0]
    return request.user if request.user.is_authenticated else None


def _gauge(lines: list[str], name: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")
    for labels, value in samples:
        label_text = ",".join(f'{key}="{val}"' for key, val in labels.items())
        lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")


def render_metrics() -> str:
    """The Prometheus text exposition of releasegate's queue and status counts."""
    now = timezone.now()
    queued = ScanRun.objects.filter(status=ScanRun.Status.QUEUED).aggregate(
        n=Count("id"), oldest=Min("queued_at")
    )
    scans = dict(ScanRun.objects.order_by().values_list("status").annotate(n=Count("id")))
    errors = ScanRun.objects.filter(current=True, status=ScanRun.Status.ERROR).count()
    releases = dict(Release.objects.order_by().values_list("status").annotate(n=Count("id")))
    oldest_age = (now - queued["oldest"]).total_seconds() if queued["oldest"] else 0.0

    lines: list[str] = []
    _gauge(lines, "releasegate_scan_queue_depth", "Scan runs waiting for a worker.", [({}, queued["n"])])
    _gauge(
        lines,
        "releasegate_scan_oldest_queued_age_seconds",
        "Age of the oldest scan run still waiting for a worker (0 when none waits).",
        [({}, max(oldest_age, 0.0))],
    )
    _gauge(
        lines,
        "releasegate_scan_runs",
        "Scan runs by status, all time.",
        [({"status": status}, scans.get(status, 0)) for status in ScanRun.Status.values],
    )
    _gauge(
        lines,
        "releasegate_exception_queue_depth",
        "Current scan runs that ended in error and wait for their owner.",
        [({}, errors)],
    )
    _gauge(
        lines,
        "releasegate_email_failures",
        "Emails that could not be sent, all time (listed in the admin under Email failures).",
        [({}, EmailFailure.objects.count())],
    )
    _gauge(
        lines,
        "releasegate_releases",
        "Releases by status.",
        [({"status": status}, releases.get(status, 0)) for status in Release.Status.values],
    )
    return "\n".join(lines) + "\n"


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics for a staff user or a manager, by API token (or session)."""
    user = _authenticated_user(request)
    if user is None:
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Token"
        return response
    if not (user.is_staff or is_manager(user)):
        return HttpResponse("staff or manager only\n", status=403, content_type="text/plain")
    return HttpResponse(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
