"""structlog processors for trace correlation (the scrubber is :mod:`gateway.observability.scrub`)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import trace

__all__ = ["add_trace_ids"]


def add_trace_ids(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add ``trace_id`` and ``span_id`` (hex) of the current span, when there is one, so a log
    line can be found from its trace and the other way round."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
