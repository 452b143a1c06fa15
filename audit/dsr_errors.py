"""Errors of data-subject requests, legal holds and retention runs.

Each says what went wrong in terms a caller can act on (an id, a field name), never a subject id,
a searched value or content. The gateway maps them once: :class:`InvalidDsrRequest` 400,
:class:`HoldNotFound` 404, :class:`UnderLegalHold` 409 (with the hold id).
"""

from __future__ import annotations

from audit.errors import AuditError


class InvalidDsrRequest(AuditError, ValueError):
    """Bad input: a malformed subject id, a hold on nothing, an empty record list."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class HoldNotFound(AuditError, LookupError):
    """No active legal hold has this id."""

    def __init__(self, hold_id: str) -> None:
        super().__init__(f"no active legal hold {hold_id}")
        self.hold_id = hold_id


class UnderLegalHold(AuditError):
    """The records asked for are under a legal hold: nothing was erased."""

    def __init__(self, hold_id: str) -> None:
        super().__init__(f"refused: legal hold {hold_id} covers these records")
        self.hold_id = hold_id
