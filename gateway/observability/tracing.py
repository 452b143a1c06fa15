"""Traces: the tracer provider built from settings, W3C ``traceparent`` in and out, and the
attribute allow-list every exported span passes through.

Nothing leaves the process when no exporter is configured: the provider then samples nothing
(spans are non-recording, their ids still propagate). When one is, every finished span is copied
with only the attributes on :data:`SAFE_ATTRIBUTES` whose values have the expected shape (GenAI
semantic conventions for the model and token counts, HTTP conventions for the route and status,
and the gateway's own counts and decisions), so request text, subject ids, pseudonym values and
credentials cannot be exported even if code sets them by mistake. Exception messages, status
descriptions and the caller's ``tracestate`` are dropped for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Final

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Link, SpanContext, Status, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes, AttributeValue

from gateway.observability.scrub import scrub_text
from gateway.settings import ObservabilitySettings

__all__ = [
    "SAFE_ATTRIBUTES",
    "AllowListSpanProcessor",
    "build_tracer_provider",
    "context_from_traceparent",
    "inject_traceparent",
    "safe_attributes",
]

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,127}")
_ROUTE = re.compile(r"/[A-Za-z0-9_.:{}/\-]{0,127}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,252}|\[[0-9A-Fa-f:]{2,45}\]")
_REQUEST_ID = re.compile(r"req_[0-9a-f]{24}")
_ERROR_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,95}")
_SPAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./{}:\-]{0,95}")
_ENTITY_COUNT_KEY = re.compile(r"gateway\.pii\.entities\.[A-Z][A-Z0-9_]{0,47}")
_FALLBACK_SPAN_NAME = "gateway.span"

_Check = Callable[[AttributeValue], bool]


def _text(pattern: re.Pattern[str], *, scrubbed: bool = True) -> _Check:
    # The shape, and (unless the shape is exact, like an id's) nothing the log scrubber would
    # take for personal data or a secret.
    if not scrubbed:
        return lambda v: isinstance(v, str) and bool(pattern.fullmatch(v))
    return lambda v: isinstance(v, str) and bool(pattern.fullmatch(v)) and scrub_text(v) == v


def _one_of(*values: str) -> _Check:
    allowed = frozenset(values)
    return lambda v: isinstance(v, str) and v in allowed


def _count(v: AttributeValue) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53


def _seconds(v: AttributeValue) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 86_400


def _status(v: AttributeValue) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599


def _flag(v: AttributeValue) -> bool:
    return isinstance(v, bool)


def _finish_reasons(v: AttributeValue) -> bool:
    reasons = {"stop", "length", "content_filter", "tool_calls", "function_call", "abort", "error"}
    return (
        isinstance(v, Sequence) and not isinstance(v, str) and len(v) <= 16 and all(r in reasons for r in v)
    )


_DECISIONS = ("allow", "deny", "block", "redact", "flag", "error")

#: Attribute keys a span may carry, each with the check its value must pass.
SAFE_ATTRIBUTES: Final[Mapping[str, _Check]] = {
    # HTTP and network (OpenTelemetry semantic conventions).
    "http.route": _text(_ROUTE),
    "http.request.method": _one_of("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "_OTHER"),
    "http.response.status_code": _status,
    "url.scheme": _one_of("http", "https"),
    "server.address": _text(_HOST),
    "server.port": _count,
    "network.protocol.version": _one_of("1.0", "1.1", "2", "3"),
    "error.type": _text(_ERROR_TYPE),
    # Generative AI (OpenTelemetry GenAI semantic conventions).
    "gen_ai.operation.name": _one_of("chat", "text_completion"),
    "gen_ai.provider.name": _one_of("sglang"),
    "gen_ai.request.model": _text(_IDENTIFIER),
    "gen_ai.response.model": _text(_IDENTIFIER),
    "gen_ai.request.max_tokens": _count,
    "gen_ai.request.temperature": _seconds,
    "gen_ai.request.top_p": _seconds,
    "gen_ai.usage.input_tokens": _count,
    "gen_ai.usage.output_tokens": _count,
    "gen_ai.response.finish_reasons": _finish_reasons,
    # The gateway's own: ids it made, closed vocabularies, counts and durations.
    "gateway.request_id": _text(_REQUEST_ID, scrubbed=False),
    "gateway.role": _text(_IDENTIFIER),
    "gateway.permission": _text(_IDENTIFIER),
    "gateway.decision": _one_of(*_DECISIONS),
    "gateway.auth.method": _one_of("api_key", "jwt"),
    "gateway.auth.reason": _text(_IDENTIFIER),
    "gateway.stream": _flag,
    "gateway.delivered": _one_of("complete", "client_disconnected", "error", "blocked"),
    "gateway.pii.entities_total": _count,
    "gateway.pii.queue_wait_s": _seconds,
    "gateway.pii.detect_s": _seconds,
    "gateway.pii.outcome": _one_of("ok", "timeout", "queue_timeout", "cancelled", "error"),
    "gateway.filter.actions": _count,
    "gateway.filter.blocked": _flag,
    "gateway.filter.time_s": _seconds,
    "gateway.injection.flagged": _flag,
    "gateway.audit.records": _count,
    "gateway.upstream.time_to_first_byte_s": _seconds,
    "gateway.upstream.time_to_last_byte_s": _seconds,
    # Exception events keep the exception's type only (its message may quote input).
    "exception.type": _text(_ERROR_TYPE),
}


def _is_safe(key: str, value: AttributeValue) -> bool:
    check = SAFE_ATTRIBUTES.get(key)
    if check is not None:
        return check(value)
    # PII entity counts by type: gateway.pii.entities.PHONE_NUMBER = 2.
    return bool(_ENTITY_COUNT_KEY.fullmatch(key)) and _count(value)


def safe_attributes(attributes: Attributes) -> dict[str, AttributeValue]:
    """The attributes on the allow-list whose values have the expected shape; the rest dropped."""
    if not attributes:
        return {}
    return {key: value for key, value in attributes.items() if _is_safe(key, value)}


def _safe_name(name: str) -> str:
    if _SPAN_NAME.fullmatch(name) and scrub_text(name) == name:
        return name
    return _FALLBACK_SPAN_NAME


def _without_trace_state(context: SpanContext | None) -> SpanContext | None:
    if context is None or not context.trace_state:
        return context
    return SpanContext(
        context.trace_id, context.span_id, context.is_remote, context.trace_flags, TraceState()
    )


class AllowListSpanProcessor(SpanProcessor):
    """Hands ``inner`` (the exporting processor) a copy of each finished span that holds only safe
    attributes, a safe name, events without messages and no status description."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: object, parent_context: Context | None = None) -> None:
        """Nothing to do at start: attributes are filtered when the span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        """Forward the filtered copy of ``span``."""
        events = [
            Event(_safe_name(event.name), safe_attributes(event.attributes), event.timestamp)
            for event in span.events
        ]
        links = [
            Link(_without_trace_state(link.context) or link.context, safe_attributes(link.attributes))
            for link in span.links
        ]
        copy = ReadableSpan(
            name=_safe_name(span.name),
            context=_without_trace_state(span.context),
            parent=_without_trace_state(span.parent),
            resource=span.resource,
            attributes=safe_attributes(span.attributes),
            events=events,
            links=links,
            kind=span.kind,
            status=Status(span.status.status_code),
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._inner.on_end(copy)

    def shutdown(self) -> None:
        """Shut the exporting processor down (flushes what it holds)."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the exporting processor."""
        return self._inner.force_flush(timeout_millis)


def build_tracer_provider(
    settings: ObservabilitySettings,
    *,
    version: str,
    exporter: SpanExporter | None = None,
    batch: bool = True,
) -> TracerProvider:
    """The app's tracer provider (never the global one). ``exporter`` overrides the OTLP exporter
    the settings describe (tests pass an in-memory one); with neither, nothing is recorded or sent."""
    if exporter is None and settings.otlp_endpoint:
        from gateway.observability.otlp import otlp_span_exporter

        exporter = otlp_span_exporter(settings)
    resource = Resource.create({"service.name": settings.service_name, "service.version": version})
    sampler: Sampler = ALWAYS_OFF
    if exporter is not None:
        sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    if exporter is not None:
        inner: SpanProcessor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(AllowListSpanProcessor(inner))
    return provider


_W3C = TraceContextTextMapPropagator()


def context_from_traceparent(traceparent: str | None) -> Context:
    """The caller's trace context from its W3C ``traceparent`` header (an empty context, so a new
    trace, when it is missing or malformed). The caller's ``tracestate`` is not taken: it is
    free text the caller chose and would be exported with every span."""
    if not traceparent or len(traceparent) > 128:
        return Context()
    return _W3C.extract({"traceparent": traceparent})


def inject_traceparent(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Add ``traceparent`` for the current span (or ``context``) to outgoing ``headers``, for the
    engine; no ``tracestate``."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    if "traceparent" in carrier:
        headers["traceparent"] = carrier["traceparent"]
