"""The one place the gateway builds audit events (:class:`audit.records.AuditEvent`).

Every record the gateway writes names who acted the same way: the principal's id, its roles
joined by commas (the ``role`` column), and its tenant (which decides who may read the record
back). Personal data and content go only into ``payload``, which the audit log encrypts; the
header fields carry ids, kinds, decisions and counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.records import AuditEvent
from policies.rbac import Principal


def role_column(principal: Principal) -> str:
    """The ``role`` column of a principal's records: its roles, comma-joined, in order."""
    return ",".join(principal.roles)


def decision_event(
    kind: str,
    request_id: str | None,
    principal: Principal | None,
    decision: str,
    payload: Mapping[str, Any] | None,
    *,
    model: str | None = None,
    subject_id: str | None = None,
    entity_counts: Mapping[str, int] | None = None,
    usage: Mapping[str, int] | None = None,
    latency_ms: float | None = None,
) -> AuditEvent:
    """An event about what a caller did or was refused (``principal`` is None when the caller
    could not be identified). ``model`` must be a name known to be a model (it is stored in
    clear in the chained header); ``subject_id`` is stored only as its keyed HMAC."""
    return AuditEvent(
        kind=kind,
        principal=principal.id if principal is not None else None,
        role=role_column(principal) if principal is not None else None,
        model=model,
        request_id=request_id,
        subject_id=subject_id,
        decision=decision,
        entity_counts=dict(entity_counts or {}),
        usage=dict(usage) if usage is not None else None,
        latency_ms=latency_ms,
        payload=payload,
        tenant=principal.tenant if principal is not None else None,
    )


def operator_event(
    kind: str, operator: str, role: str, payload: Mapping[str, Any], *, decision: str = "allow"
) -> AuditEvent:
    """An event about an operator's command-line action (``role`` names the tool, e.g. ``cli``
    or ``admin``); such actions belong to no tenant."""
    return AuditEvent(kind=kind, principal=operator, role=role, decision=decision, payload=payload)
