"""How many workflow writes committed during the current request (or task).

A separate module without model imports: the request middleware (loaded with the logging
configuration, before the apps) reads it, and workflow/transactions.py counts into it.
"""

from __future__ import annotations

import contextvars

_committed: contextvars.ContextVar[int] = contextvars.ContextVar("releasegate_committed_writes", default=0)


def reset() -> contextvars.Token:
    return _committed.set(0)


def restore(token: contextvars.Token) -> None:
    _committed.reset(token)


def count() -> int:
    """How many workflow writes committed since the last reset (the current request)."""
    return _committed.get()


def note() -> None:
    _committed.set(_committed.get() + 1)
