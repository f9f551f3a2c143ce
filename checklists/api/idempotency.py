"""Idempotency-Key for POSTs that create things: the same key and body replay the first answer.

The change and the IdempotencyRecord commit in one transaction, so a retry either finds
the record (and replays it) or finds nothing changed. Two requests racing with the same
key both run, but only one can insert the record (unique on user, key, scope); the loser's
transaction, with its change, rolls back and it replays the winner's answer.
Only successful (2xx) answers are recorded: a refused request changed nothing, so
retrying it with the same key simply runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from ..errors import InvalidInput, WorkflowError
from ..models import IdempotencyRecord
from ..workflow.transactions import run_atomic

HEADER = "Idempotency-Key"
KEY_MAX = 255
# The header as the OpenAPI schema describes it, on every POST that honours it.
IDEMPOTENCY_PARAM = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID). Retrying with the same key and body replays the first "
    "answer and changes nothing; the same key with another body is a 422.",
)


class IdempotencyKeyReused(WorkflowError):
    status = 422
    code = "idempotency_key_reused"


def fingerprint(*parts) -> str:
    """A stable hash of what a request asked for (body, query), to tell a retry from a new request."""
    digest = hashlib.sha256()
    for part in parts:
        if not isinstance(part, bytes):
            part = json.dumps(part, sort_keys=True, default=str).encode()
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise InvalidInput(
            f"{HEADER} must be 1 to {KEY_MAX} printable characters.",
            details={HEADER: ["1 to 255 printable characters, e.g. a UUID."]},
        )
    return key


def _replay(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request; use a new key.",
            details={"key": record.key},
        )
    response = Response(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request: Request, request_hash: str, handler: Callable[[], Response]) -> Response:
    """Run `handler` once per (user, Idempotency-Key, method and path); replay its answer after."""
    key = _key(request)
    if key is None:
        return handler()
    scope = f"{request.method} {request.path}"[:255]
    lookup = {"user": request.user, "key": key, "scope": scope}

    def once() -> Response:
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is not None:
            return _replay(record, request_hash)
        response = handler()
        if 200 <= response.status_code < 300:
            IdempotencyRecord.objects.create(
                **lookup,
                request_hash=request_hash,
                response_status=response.status_code,
                response_body=response.data,
            )
        return response

    try:
        # One transaction for the change and its record, retried once after a deadlock.
        return run_atomic(once)
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(**lookup).first()
        if record is None:
            raise
        return _replay(record, request_hash)
