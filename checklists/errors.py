"""Domain exceptions. Each carries its HTTP status and error code: the one place they are mapped.

Views, the API and admin actions catch WorkflowError and render `code`, `message` and
`details`; nothing else decides what a refusal looks like on the wire.
"""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(WorkflowError):
    status = 400
    code = "invalid"


class NotAllowed(WorkflowError):
    status = 403
    code = "forbidden"


class SelfReviewError(NotAllowed):
    code = "self_review"


class NotAReviewerError(NotAllowed):
    code = "not_a_reviewer"


class NotFound(WorkflowError):
    status = 404
    code = "not_found"


class TransitionError(WorkflowError):
    """The release is not in a state that allows this change."""

    status = 409
    code = "invalid_transition"


class BlockedError(TransitionError):
    """The transition is allowed in principle but items block it; details lists them."""

    code = "blocked"


class WriteConflict(WorkflowError):
    """Concurrent transactions deadlocked twice; nothing was changed and repeating is safe."""

    status = 409
    code = "write_conflict"


class TooLarge(WorkflowError):
    status = 413
    code = "too_large"
