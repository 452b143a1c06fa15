"""One request's observation without a server: steps become child spans only when traces are
recorded, the caller's traceparent is passed on unchanged when they are not, Server-Timing says
what is known (from an injected clock), the request metrics are recorded once, and the audit
writer tells its observer of each commit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from audit.records import AuditEvent
from audit.store import AuditLog, AuditSettings
from gateway.observability.request import RequestObservation, current_observation, open_request
from gateway.observability.runtime import Observability, build_observability, seed_vocabularies
from gateway.settings import ObservabilitySettings

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
REQUEST_ID = "req_0123456789abcdef01234567"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced(exporter: InMemorySpanExporter) -> Iterator[Observability]:
    observability = build_observability(ObservabilitySettings(), span_exporter=exporter)
    seed_vocabularies(observability.metrics, routes=["/v1/chat/completions"])
    yield observability
    observability.close()


@pytest.fixture
def untraced() -> Iterator[Observability]:
    observability = build_observability(ObservabilitySettings())
    seed_vocabularies(observability.metrics, routes=["/v1/chat/completions"])
    yield observability
    observability.close()


def test_outside_a_request_the_observation_is_disabled() -> None:
    observation = current_observation()
    assert observation.metrics is None and not observation.recording
    with observation.step("gateway.upstream") as step:
        step.set("gen_ai.request.model", "m")
    assert step.span is None
    assert observation.upstream_headers(step) is None
    observation.finish(method="POST", route="/v1/chat/completions", status=200)  # records nothing


def test_steps_are_children_of_the_request_span(
    traced: Observability, exporter: InMemorySpanExporter
) -> None:
    observation, restore = open_request(traced, method="POST", request_id=REQUEST_ID, traceparent=TRACEPARENT)
    try:
        assert current_observation() is observation
        # Logs find the request's span as the current one (trace ids on every line).
        assert format(trace.get_current_span().get_span_context().trace_id, "032x") == CALLER_TRACE
        with observation.step("gateway.upstream", kind=SpanKind.CLIENT) as upstream:
            headers = observation.upstream_headers(upstream)
        with pytest.raises(ValueError), observation.step("gateway.audit.request_record"):
            raise ValueError("patient Mary Jones")  # the message must not be exported
        observation.finish(method="POST", route="/v1/chat/completions", status=200)
    finally:
        restore()
    assert current_observation() is not observation
    spans = {span.name: span for span in exporter.get_finished_spans()}
    root = spans["POST /v1/chat/completions"]
    assert root.kind is SpanKind.SERVER and root.context is not None
    for name in ("gateway.upstream", "gateway.audit.request_record"):
        parent = spans[name].parent
        assert parent is not None and parent.span_id == root.context.span_id
    upstream_context = spans["gateway.upstream"].context
    assert upstream_context is not None and headers is not None
    assert headers == {"traceparent": f"00-{CALLER_TRACE}-{format(upstream_context.span_id, '016x')}-01"}
    failed = spans["gateway.audit.request_record"]
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description is None
    assert dict(failed.attributes or {}) == {"error.type": "ValueError"}
    assert "Mary" not in repr([e.attributes for e in failed.events])


def test_without_an_exporter_no_span_is_made_and_the_traceparent_passes_through(
    untraced: Observability,
) -> None:
    observation, restore = open_request(
        untraced, method="POST", request_id=REQUEST_ID, traceparent=TRACEPARENT
    )
    try:
        step = observation.step("gateway.upstream")
        assert step.span is None and not observation.recording
        assert observation.upstream_headers(step) == {"traceparent": TRACEPARENT}
        # Logs still carry the caller's trace id.
        assert format(trace.get_current_span().get_span_context().trace_id, "032x") == CALLER_TRACE
    finally:
        restore()
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.parametrize(
    "traceparent",
    [None, "", "junk", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"01-{CALLER_TRACE}-00f067aa0ba902b7-01x"],
)
def test_a_missing_or_malformed_traceparent_is_not_forwarded(
    untraced: Observability, traceparent: str | None
) -> None:
    observation, restore = open_request(
        untraced, method="GET", request_id=REQUEST_ID, traceparent=traceparent
    )
    try:
        assert observation.upstream_headers(observation.step("gateway.upstream")) is None
    finally:
        restore()


def test_server_timing_holds_what_is_known_when_the_response_starts(untraced: Observability) -> None:
    clock = Clock()
    observation, restore = open_request(
        untraced, method="POST", request_id=REQUEST_ID, traceparent=None, clock=clock
    )
    try:
        assert observation.timing_header() is None  # not (yet) a proxied request
        observation.proxied = True
        with observation.step("gateway.pii.detect", timing="pii"):
            clock.now += 0.004
        with observation.step("gateway.audit.request_record", timing="audit"):
            clock.now += 0.002
        upstream = observation.step("gateway.upstream", timing="upstream")
        clock.now += 0.050
        observation.upstream_connect_s = upstream.elapsed()  # a stream: headers in, body to come
        assert observation.timing_header() == (
            b"gateway;dur=6.0, upstream;dur=50.0, pii;dur=4.0, audit;dur=2.0"
        )
        clock.now += 1.0
        upstream.end()  # the whole stream's share replaces the time to headers
        assert observation.upstream_s == pytest.approx(1.05)
        observation.finish(method="POST", route="/v1/chat/completions", status=200)
    finally:
        restore()
    registry = untraced.metrics.registry
    labels = {"route": "/v1/chat/completions", "model": "other", "role": "none", "status": "200"}
    assert registry.get_sample_value("gateway_requests_total", labels) == 1
    assert registry.get_sample_value("gateway_request_duration_seconds_sum", labels) == pytest.approx(1.056)
    assert registry.get_sample_value(
        "gateway_overhead_seconds_sum", {"route": "/v1/chat/completions", "model": "other"}
    ) == pytest.approx(0.006)


def test_server_timing_is_off_when_the_settings_say_so() -> None:
    observability = build_observability(ObservabilitySettings(server_timing=False))
    try:
        observation, restore = open_request(
            observability, method="POST", request_id=REQUEST_ID, traceparent=None
        )
        observation.proxied = True
        assert observation.timing_header() is None
        restore()
    finally:
        observability.close()


def test_a_served_model_joins_the_model_vocabulary(untraced: Observability) -> None:
    observation = RequestObservation(untraced.metrics)
    observation.note_model("org/served-model")
    assert "org/served-model" in untraced.metrics.labels.models.values
    assert untraced.metrics.labels.models.label("org/served-model") == "org/served-model"


async def test_the_audit_log_tells_its_observer_of_each_commit(tmp_path: Path) -> None:
    settings = AuditSettings(
        url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
        key_dir=tmp_path / "keys",
        checkpoint_file=tmp_path / "checkpoints.jsonl",
        checkpoint_interval_s=3600.0,
    )
    commits: list[tuple[float, int, bool]] = []

    def observe(*, duration_s: float, batch_size: int, ok: bool) -> None:
        commits.append((duration_s, batch_size, ok))

    log = await AuditLog.open(settings)
    try:
        log.observe_commits(observe)
        events = [
            AuditEvent(
                kind="chat.request", principal="k1", role="service", request_id=f"req-{i}", decision="allow"
            )
            for i in range(3)
        ]
        await asyncio.gather(*(log.append(event) for event in events))
    finally:
        await log.close()
    assert sum(size for _d, size, _ok in commits) == 3
    assert all(ok and duration >= 0 for duration, _size, ok in commits)
