"""Spans as exported: only allow-listed attributes with the expected shape, no exception
messages or status descriptions, W3C traceparent in and out, and nothing recorded or sent when
no exporter is configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util.types import AttributeValue

from gateway.observability.tracing import (
    build_tracer_provider,
    context_from_traceparent,
    inject_traceparent,
    safe_attributes,
)
from gateway.settings import ObservabilitySettings
from tests.pii_corpus import generate

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
SAMPLES = generate(60)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = build_tracer_provider(ObservabilitySettings(), version="1.2.3", exporter=exporter, batch=False)
    yield provider
    provider.shutdown()


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def test_safe_attributes_are_exported(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    safe: dict[str, AttributeValue] = {
        "http.route": "/v1/chat/completions",
        "http.request.method": "POST",
        "http.response.status_code": 200,
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "deepseek-ai/DeepSeek-V3",
        "gen_ai.usage.input_tokens": 42,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.response.finish_reasons": ("stop",),
        "gateway.request_id": "req_0123456789abcdef01234567",
        "gateway.role": "clinician",
        "gateway.decision": "allow",
        "gateway.pii.entities.PHONE_NUMBER": 2,
        "gateway.upstream.time_to_first_byte_s": 0.25,
        "error.type": "EngineUnavailable",
    }
    with provider.get_tracer("t").start_as_current_span("POST /v1/chat/completions", attributes=safe):
        pass
    span = _only(exporter)
    assert dict(span.attributes or {}) == safe
    assert span.name == "POST /v1/chat/completions"
    assert span.resource.attributes["service.name"] == "compliance-gateway"
    assert span.resource.attributes["service.version"] == "1.2.3"


def test_unsafe_attributes_are_dropped(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    text = SAMPLES[0].text
    with provider.get_tracer("t").start_as_current_span("gateway.request") as span:
        span.set_attribute("gen_ai.prompt", text)  # not on the list
        span.set_attribute("gen_ai.completion", text)
        span.set_attribute("http.request.header.authorization", "Bearer gw_abcd1234_secretsecretsecret")
        span.set_attribute("gateway.subject", "patient-4711")
        span.set_attribute("gateway.pseudonym_map", "[PERSON_1]=John Smith")
        span.set_attribute("url.full", "http://gw/v1/chat?email=mary@bank.cn")
        # On the list, but the value has the wrong shape or type.
        span.set_attribute("gen_ai.request.model", "John Smith")
        span.set_attribute("gen_ai.request.model", "mary.jones@hospital.org")
        span.set_attribute("gateway.role", "clinician 13812345678")
        span.set_attribute("http.route", "/v1/chat/completions?ssn=536-22-1234")
        span.set_attribute("gateway.request_id", "536-22-1234")
        span.set_attribute("gen_ai.usage.input_tokens", "12")
        span.set_attribute("gateway.decision", "allowed for John")
        span.set_attribute("gateway.pii.entities.PERSON", "John Smith")
        span.set_attribute("gateway.pii.entities.john", 1)
    assert dict(_only(exporter).attributes or {}) == {}


def test_exception_messages_and_status_descriptions_are_dropped(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    secret = "patient John Smith 536-22-1234"
    with pytest.raises(ValueError), provider.get_tracer("t").start_as_current_span("gateway.pii.detect"):
        raise ValueError(secret)
    span = _only(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description is None
    (event,) = span.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert secret not in repr(span.to_json())


def test_content_in_span_names_is_replaced(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    with provider.get_tracer("t").start_as_current_span("summarise for John Smith 13812345678"):
        pass
    assert _only(exporter).name == "gateway.span"


def test_no_corpus_value_reaches_an_exported_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("t")
    for sample in SAMPLES:
        with tracer.start_as_current_span(sample.text[:90]) as span:
            for key in ("gen_ai.request.model", "gateway.role", "error.type", "http.route", "gen_ai.prompt"):
                span.set_attribute(key, sample.text)
            span.add_event("chunk", {"gen_ai.request.model": sample.text, "content": sample.text})
    exported = " ".join(span.to_json() for span in exporter.get_finished_spans())
    for sample in SAMPLES:
        for found in sample.spans:
            assert sample.text[found.start : found.end] not in exported


def test_caller_traceparent_is_continued_and_tracestate_not_taken(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    context = context_from_traceparent(TRACEPARENT)
    with provider.get_tracer("t").start_as_current_span("gateway.request", context=context):
        outgoing: dict[str, str] = {}
        inject_traceparent(outgoing)
    span = _only(exporter)
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert outgoing["traceparent"].startswith(f"00-{CALLER_TRACE}-")
    assert outgoing["traceparent"].split("-")[2] == format(span.context.span_id, "016x")
    assert "tracestate" not in outgoing


@pytest.mark.parametrize("bad", [None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "x" * 500])
def test_missing_or_malformed_traceparent_starts_a_new_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter, bad: str | None
) -> None:
    with provider.get_tracer("t").start_as_current_span(
        "gateway.request", context=context_from_traceparent(bad)
    ):
        pass
    span = _only(exporter)
    assert span.parent is None
    assert span.context.trace_id != 0


def test_without_exporter_nothing_is_recorded_but_ids_propagate() -> None:
    provider = build_tracer_provider(ObservabilitySettings(), version="0")
    with provider.get_tracer("t").start_as_current_span(
        "gateway.request", context=context_from_traceparent(TRACEPARENT)
    ) as span:
        assert not span.is_recording()
        outgoing: dict[str, str] = {}
        inject_traceparent(outgoing)
    assert outgoing["traceparent"].split("-")[1] == CALLER_TRACE
    assert provider._active_span_processor._span_processors == ()  # no exporter, no network
    # A new trace without a caller: not sampled, nothing kept.
    with provider.get_tracer("t").start_as_current_span("gateway.request") as root:
        assert not root.is_recording()
        assert not root.get_span_context().trace_flags.sampled


def test_otlp_exporter_is_built_only_with_an_endpoint() -> None:
    from gateway.observability.otlp import otlp_meter_provider, otlp_span_exporter, signal_url

    settings = ObservabilitySettings(
        otlp_endpoint="https://collector.internal:4318/", otlp_headers={"x-key": "k"}
    )
    assert signal_url(settings, "traces") == "https://collector.internal:4318/v1/traces"
    exporter = otlp_span_exporter(settings)
    exporter.shutdown()
    assert otlp_meter_provider(settings, version="0") is None  # otlp_metrics is off by default
    assert otlp_meter_provider(ObservabilitySettings(otlp_metrics=True), version="0") is None
    with pytest.raises(ValueError):
        otlp_span_exporter(ObservabilitySettings())


def test_safe_attributes_of_nothing_is_empty() -> None:
    assert safe_attributes(None) == {}
