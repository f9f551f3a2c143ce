"""One error format for the API: `{"error": {"code", "message", "details"}}` with a 4xx status.

- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) renders domain errors
  (WorkflowError.as_dict) and DRF's own (auth, validation, 404, 405, 415, parse errors).
- `handler400/404/500` (set in releasegate/urls.py) answer JSON under /api/ and fall
  back to Django's pages everywhere else, so the API never answers with HTML.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import WorkflowError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

# DRF's default codes, renamed where the domain already has a name for the same thing.
CODES = {
    "permission_denied": "forbidden",
    "not_found": "not_found",
    "invalid": "invalid",
    "parse_error": "parse_error",
}
MESSAGES = {
    "invalid": "The request has invalid fields.",
}


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def exception_handler(exc, context):
    """Render every API refusal in the one error format."""
    if isinstance(exc, WorkflowError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a bug: Django's handler500 answers (JSON under /api/)
    code = CODES.get(exc.default_code, exc.default_code)
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail
        if isinstance(details, list):
            details = {"non_field_errors": details}
        response.data = error_body(code, MESSAGES["invalid"], details)
    else:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
        response.data = error_body(code, str(message), None)
    return response


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


@csrf_exempt  # answers only 404s; a CSRF refusal here would be an HTML page
def not_found_json(request: HttpRequest, exception=None) -> JsonResponse:
    return JsonResponse(
        error_body(
            "not_found",
            f"No API endpoint at {request.path[:200]}. Paths end with a slash; see /api/v1/schema/.",
        ),
        status=404,
    )


def handler400(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return defaults.bad_request(request, exception)


def handler404(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api(request):
        return not_found_json(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."), status=500
        )
    return defaults.server_error(request)
