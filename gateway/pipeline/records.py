"""The audit records of the request path: the request record (committed before forwarding), the
response record (committed before the end of the answer), and the failure record.

Records are built by :mod:`gateway.audit_events` from the request's context; content (the
original body, pseudonym map, raw answer) goes only into the encrypted payload.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import structlog

from audit.errors import AuditError
from audit.records import AuditEvent
from gateway.audit_events import decision_event
from gateway.observability.request import current_observation
from gateway.pipeline.context import RequestContext
from gateway.pipeline.observe import count_answer_decisions

log = structlog.get_logger("gateway.pipeline")

# The trace's words for how an answer was delivered; anything else ("failed") is "error".
_DELIVERED = frozenset({"complete", "client_disconnected", "blocked"})


class AuditSink(Protocol):
    """What the pipeline needs from the audit log."""

    async def append(self, event: AuditEvent) -> Any:
        """Commit one record (raises an AuditError when it cannot)."""
        ...


class FilterDecision(Protocol):
    """One output-filter decision as recorded: which rule, what it did, how often."""

    @property
    def rule_id(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def count(self) -> int: ...


def _event(
    context: RequestContext,
    stage: str,
    decision: str,
    payload: Mapping[str, Any],
    *,
    entity_counts: Mapping[str, int],
    usage: Mapping[str, int] | None = None,
    latency_ms: float | None = None,
) -> AuditEvent:
    return decision_event(
        f"{context.route.kind}.{stage}",
        context.request_id,
        context.principal,
        decision,
        payload,
        model=context.model,
        subject_id=context.subject_id,
        entity_counts=entity_counts,
        usage=usage,
        latency_ms=latency_ms,
    )


async def append_request_record(
    audit: AuditSink,
    context: RequestContext,
    body: Mapping[str, Any],
    decision: str,
    *,
    pseudonyms: Mapping[str, str] | None = None,
    pii_actions: Mapping[str, int] | None = None,
    entity_counts: Mapping[str, int] | None = None,
    injection_flags: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Commit the request record: the original body, the pseudonym map, what admission found."""
    payload: dict[str, Any] = {
        "request": body,
        "pseudonyms": dict(pseudonyms or {}),
        "injection_flags": list(injection_flags),
        "authz": context.authz.decision.audit_fields(),
    }
    if context.served_model != context.model:
        payload["served_model"] = context.served_model
    if pii_actions is not None:
        payload["pii_actions"] = dict(pii_actions)
    if extra:
        payload.update(extra)
    event = _event(context, "request", decision, payload, entity_counts=dict(entity_counts or {}))
    with current_observation().step("gateway.audit.request_record", timing="audit") as step:
        step.set("gateway.decision", decision)
        await audit.append(event)


def _usage_counts(usage: Mapping[str, Any] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (usage or {}).items() if isinstance(v, int)}


async def append_response_record(
    audit: AuditSink,
    context: RequestContext,
    *,
    decision: str,
    answer: Mapping[str, Any],
    usage: Mapping[str, Any] | None,
    delivered: str,
    decisions: Sequence[FilterDecision],
    clock: Callable[[], float] = time.perf_counter,
    error_type: str | None = None,
) -> None:
    """Commit the response record: the raw answer, filter decisions, usage, latency, delivery
    (``error_type``: the exception's type name of a failed exchange, for the trace)."""
    counts: dict[str, int] = {}
    for d in decisions:
        counts[f"{d.action}:{d.rule_id}"] = counts.get(f"{d.action}:{d.rule_id}", 0) + d.count
    event = _event(
        context,
        "response",
        decision,
        {
            "answer": dict(answer),
            "delivered": delivered,
            "filter_decisions": [
                {"rule_id": d.rule_id, "action": d.action, "count": d.count} for d in decisions
            ],
        },
        entity_counts=counts,
        usage=_usage_counts(usage),
        latency_ms=round((clock() - context.started) * 1000, 3),
    )
    observation = current_observation()
    with observation.step("gateway.audit.response_record", timing="audit") as step:
        step.set("gateway.decision", decision)
        step.set("gateway.delivered", delivered if delivered in _DELIVERED else "error")
        if error_type is not None:
            step.set("error.type", error_type)
        # Counted once per answer, here, where its filter decisions are final.
        count_answer_decisions(observation, step, decisions)
        await audit.append(event)


async def record_failure(
    audit: AuditSink,
    context: RequestContext,
    exc: BaseException,
    answer: Mapping[str, Any] | None = None,
    decisions: Sequence[FilterDecision] = (),
) -> None:
    """Best effort: the request record exists, so note how the exchange failed (type name only)."""
    try:
        await append_response_record(
            audit,
            context,
            decision="error",
            answer={**(answer or {}), "error": type(exc).__name__},
            usage=None,
            delivered="failed",
            decisions=decisions,
            error_type=type(exc).__name__,
        )
    except AuditError:
        log.error("audit.failure_not_recorded", request_id=context.request_id, error_type=type(exc).__name__)
