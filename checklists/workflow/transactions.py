"""The transaction every workflow write runs in: retried once on a deadlock, and remembered.

- A deadlock or serialization failure (PostgreSQL 40P01 / 40001) rolls the whole
  transaction back, so running it again is safe: the outermost write is retried once, then
  refused with its own code (`write_conflict`, 409), never reported as "database unavailable".
  A write nested in a caller's transaction is not retried here: only the outermost block
  can start again.
- When an outermost write commits, the request (or task) notes it, so that a database
  error after the commit is never answered with "nothing was changed"
  (checklists/web/middleware.py).
"""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, connection, transaction

from .. import committed
from ..errors import WriteConflict

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def run_atomic(func, *args, **kwargs):
    """Call `func` in a transaction; as the outermost one, once more after a deadlock."""
    if connection.in_atomic_block:
        with transaction.atomic():
            result = func(*args, **kwargs)
            transaction.on_commit(committed.note)  # runs when the caller's transaction commits
            return result
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                result = func(*args, **kwargs)
                transaction.on_commit(committed.note)
            return result
        except DatabaseError as exc:
            if not is_retryable(exc):
                raise
            logger.warning(
                "%s: %s (attempt %s)", getattr(func, "__name__", func), str(exc).splitlines()[0], attempt
            )
    raise WriteConflict(
        "Another change to the same data happened at the same moment, twice; nothing was "
        "changed. Repeat the request."
    )


def write_transaction(func):
    """Decorate a workflow write: atomic, retried once after a deadlock when outermost."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return run_atomic(func, *args, **kwargs)

    return wrapper
