"""What data-subject requests, holds and retention runs share: who acts, subject ids, their records.

Every operation writes its own audit record (``dsr.export``, ``dsr.erase``, ``dsr.hold``,
``retention.run``) naming the actor; its payload holds ids, counts, times and at most the
subject's keyed reference, never a subject id or a searched value. These records are sealed under
the day key, never under a subject's key: writing one must not create a data key for a subject
(an unknown one, or one just erased).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from audit.dsr_errors import InvalidDsrRequest
from audit.records import AuditEvent

if TYPE_CHECKING:
    from audit.chain import AppendReceipt
    from audit.store import AuditLog

MAX_SUBJECT_ID = 256


@dataclass(frozen=True)
class Actor:
    """Who asks: recorded in the header of every record the operation writes."""

    principal: str | None = None
    role: str | None = None
    tenant: str | None = None
    request_id: str | None = None


def check_subject_id(subject_id: object) -> str:
    """The subject id as the request path takes it from ``X-Data-Subject`` (stripped, 1 to 256
    printable characters); raises :class:`InvalidDsrRequest` (naming the field only) otherwise."""
    if not isinstance(subject_id, str):
        raise InvalidDsrRequest("the subject id must be a string", "subject_id")
    value = subject_id.strip()
    if not value or len(value) > MAX_SUBJECT_ID or not value.isprintable():
        raise InvalidDsrRequest("the subject id must be 1 to 256 printable characters", "subject_id")
    return value


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def us_of(moment: datetime) -> int:
    """Microseconds since the epoch of ``moment``."""
    return int(aware(moment).timestamp() * 1_000_000)


async def record_operation(
    audit: AuditLog,
    kind: str,
    actor: Actor,
    payload: Mapping[str, Any],
    *,
    decision: str = "allow",
) -> AppendReceipt:
    """Append the operation's own audit record (raises AuditUnavailable when it cannot)."""
    return await audit.append(
        AuditEvent(
            kind=kind,
            principal=actor.principal,
            role=actor.role,
            tenant=actor.tenant,
            request_id=actor.request_id,
            decision=decision,
            payload=dict(payload),
        )
    )
