"""One request's observations: its root span and child steps, and the timings its metrics and
``Server-Timing`` header are made of.

The request middleware opens a :class:`RequestObservation` for each HTTP request and makes it
current (a context variable, so the pipeline, the authentication middleware and the guard reach
it without it being threaded through every signature); the pipeline fills in the model, the role
and the time spent upstream, in PII detection and in audit commits; the middleware closes it when
the response ends (root span ended, request metrics recorded).

Cheap when nothing is exported: with no exporter configured no span object is made at all (an SDK
span costs some 10-20 us even unsampled, and a request has about ten); a caller's valid
``traceparent`` is then passed on to the engine unchanged, so the trace still continues there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from gateway.observability.tracing import context_from_traceparent, inject_traceparent

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from gateway.observability.metrics import GatewayMetrics
    from gateway.observability.runtime import Observability

__all__ = [
    "RequestObservation",
    "Step",
    "current_observation",
    "open_request",
]

Timing = Literal["upstream", "pii", "audit"]
Clock = Callable[[], float]

# A W3C traceparent as it is forwarded when nothing is recorded (version 00, no all-zero ids).
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

_CURRENT: ContextVar[RequestObservation | None] = ContextVar("gateway_request_observation", default=None)


class Step:
    """One timed step of a request: a child span of the request's span when traces are recorded,
    always a duration. Use as a context manager, or :meth:`end` it where it finishes elsewhere
    (a stream's upstream call ends in the relay)."""

    __slots__ = ("_ended", "_owner", "_span", "_timing", "duration_s", "started")

    def __init__(self, owner: RequestObservation, span: Span | None, timing: Timing | None) -> None:
        self._owner = owner
        self._span = span
        self._timing = timing
        self._ended = False
        self.started = owner.clock()
        self.duration_s = 0.0

    def __repr__(self) -> str:
        return f"Step(recording={self._span is not None})"

    @property
    def span(self) -> Span | None:
        """The span (None when traces are not recorded)."""
        return self._span

    def elapsed(self) -> float:
        """Seconds since the step started."""
        return self._owner.clock() - self.started

    def set(self, key: str, value: AttributeValue) -> None:
        """Set one span attribute (only allow-listed ones are exported; see ``tracing``)."""
        if self._span is not None:
            self._span.set_attribute(key, value)

    def set_all(self, attributes: Mapping[str, AttributeValue]) -> None:
        """Set several span attributes."""
        if self._span is not None:
            self._span.set_attributes(attributes)

    def end(self, error: BaseException | type[BaseException] | None = None) -> None:
        """End the step (once; later calls do nothing). ``error``: what it failed with (its type
        name is recorded, never its message)."""
        if self._ended:
            return
        self._ended = True
        self.duration_s = self.elapsed()
        if self._timing is not None:
            self._owner.add_time(self._timing, self.duration_s)
        if self._span is not None:
            if error is not None:
                kind = error if isinstance(error, type) else type(error)
                self._span.set_attribute("error.type", kind.__name__)
                self._span.set_status(StatusCode.ERROR)
            self._span.end()

    def __enter__(self) -> Step:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end(exc_type)


class RequestObservation:
    """What one request's observability knows: its span, its model and role, and where its time
    went. Disabled (no metrics, no spans) where no app is behind it, as in pipeline unit tests."""

    __slots__ = (
        "_parent",
        "_root",
        "_tracer",
        "audit_s",
        "clock",
        "metrics",
        "model",
        "pii_s",
        "proxied",
        "role",
        "server_timing",
        "started",
        "traceparent",
        "upstream_connect_s",
        "upstream_s",
    )

    def __init__(
        self,
        metrics: GatewayMetrics | None = None,
        tracer: Tracer | None = None,
        *,
        root: Span | None = None,
        parent: Context | None = None,
        traceparent: str | None = None,
        server_timing: bool = False,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.metrics = metrics
        self._tracer = tracer
        self._root = root
        self._parent = parent
        self.traceparent = traceparent  # forwarded as is when no span is recorded
        self.server_timing = server_timing
        self.clock = clock
        self.started = clock()
        self.model: str | None = None  # the served name, once the engine is known to serve it
        self.role = "none"  # the first role of the guard's decision
        self.proxied = False  # the request reached the pipeline (Server-Timing goes on its answer)
        self.upstream_s: float | None = None  # the engine's whole share (last byte)
        self.upstream_connect_s: float | None = None  # a stream's time to the engine's headers
        self.pii_s: float | None = None
        self.audit_s: float | None = None

    def __repr__(self) -> str:
        return f"RequestObservation(recording={self._root is not None})"

    @property
    def recording(self) -> bool:
        """Whether spans are recorded for this request."""
        return self._root is not None

    def step(
        self,
        name: str,
        *,
        timing: Timing | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Step:
        """Start a step; a child span of the request's span when spans are recorded."""
        span = None
        if self._tracer is not None and self._parent is not None:
            span = self._tracer.start_span(name, context=self._parent, kind=kind, attributes=attributes)
        return Step(self, span, timing)

    def add_time(self, timing: Timing, seconds: float) -> None:
        """Add ``seconds`` to one of the request's timings."""
        if timing == "pii":
            self.pii_s = (self.pii_s or 0.0) + seconds
        elif timing == "audit":
            self.audit_s = (self.audit_s or 0.0) + seconds
        else:
            self.upstream_s = (self.upstream_s or 0.0) + seconds

    def note_model(self, served: str) -> None:
        """The engine serves ``served``: it is the request's model label from now on (added to the
        model vocabulary: a name the engine lists is the gateway's own, never the caller's text)."""
        self.model = served
        if self.metrics is not None:
            models = self.metrics.labels.models
            if served not in models.values:
                models.replace(models.values | {served})

    def upstream_headers(self, step: Step) -> dict[str, str] | None:
        """Headers for the engine call of ``step``: ``traceparent`` naming its span (or the
        caller's, passed on, when nothing is recorded); None when there is no trace to continue."""
        if step.span is not None:
            headers: dict[str, str] = {}
            inject_traceparent(headers, trace.set_span_in_context(step.span))
            return headers or None
        return {"traceparent": self.traceparent} if self.traceparent else None

    def timing_header(self) -> bytes | None:
        """The ``Server-Timing`` value for what is known now (None when switched off or when the
        request did not reach the pipeline). ``gateway`` is the gateway's own time: elapsed minus
        the engine's share; for a stream whose body is still to come, the engine's share is the
        time to its response headers."""
        if not (self.server_timing and self.proxied):
            return None
        upstream = self.upstream_s if self.upstream_s is not None else self.upstream_connect_s
        own = max(self.clock() - self.started - (upstream or 0.0), 0.0)
        parts = [f"gateway;dur={own * 1000:.1f}"]
        for name, seconds in (("upstream", upstream), ("pii", self.pii_s), ("audit", self.audit_s)):
            if seconds is not None:
                parts.append(f"{name};dur={seconds * 1000:.1f}")
        return ", ".join(parts).encode()

    def finish(self, *, method: str, route: str, status: int) -> None:
        """The response ended: end the request's span, record the request metrics."""
        duration = self.clock() - self.started
        root = self._root
        if root is not None:
            verb = method if method in _METHODS else "HTTP"
            root.update_name(f"{verb} {route}" if route.startswith("/") else verb)
            if route.startswith("/"):
                root.set_attribute("http.route", route)
            if status:
                root.set_attribute("http.response.status_code", status)
            if status >= 500 or not status:
                root.set_attribute("error.type", str(status) if status else "incomplete")
                root.set_status(StatusCode.ERROR)
            root.end()
        if self.metrics is not None:
            self.metrics.observe_request(
                route=route,
                model=self.model,
                role=self.role,
                status=status,
                duration_s=duration,
                upstream_s=self.upstream_s,
            )


def current_observation() -> RequestObservation:
    """The observation of the request being served (a disabled one outside a request)."""
    observation = _CURRENT.get()
    return observation if observation is not None else RequestObservation()


def open_request(
    observability: Observability | None,
    *,
    method: str,
    request_id: str,
    traceparent: str | None,
    clock: Clock = time.perf_counter,
) -> tuple[RequestObservation, Callable[[], None]]:
    """Open the observation of one request and make it current; returns it and the function that
    restores the previous context (call it after :meth:`RequestObservation.finish`)."""
    if observability is None:
        observation = RequestObservation(clock=clock)
        return observation, _restore(_CURRENT.set(observation), None)
    metrics = observability.metrics
    server_timing = observability.settings.server_timing
    if not observability.tracing:
        valid = traceparent if traceparent and _TRACEPARENT.fullmatch(traceparent) else None
        observation = RequestObservation(metrics, traceparent=valid, server_timing=server_timing, clock=clock)
        # Logs carry the caller's trace id; nothing else is made.
        otel_token = otel_context.attach(context_from_traceparent(valid)) if valid else None
        return observation, _restore(_CURRENT.set(observation), otel_token)
    tracer = observability.tracer
    caller = context_from_traceparent(traceparent)
    root = tracer.start_span(
        method,
        context=caller,
        kind=SpanKind.SERVER,
        attributes={
            "gateway.request_id": request_id,
            "http.request.method": method if method in _METHODS else "_OTHER",
        },
    )
    parent = trace.set_span_in_context(root, caller)
    observation = RequestObservation(
        metrics, tracer, root=root, parent=parent, server_timing=server_timing, clock=clock
    )
    return observation, _restore(_CURRENT.set(observation), otel_context.attach(parent))


def _restore(
    token: Token[RequestObservation | None], otel_token: Token[Context] | None
) -> Callable[[], None]:
    def restore() -> None:
        if otel_token is not None:
            otel_context.detach(otel_token)
        _CURRENT.reset(token)

    return restore
