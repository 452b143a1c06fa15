"""Observations of a full request, in a real app against an engine on the loopback: the span tree
(names, parents, attributes) of a chat completion, streaming and not, with the caller's W3C
``traceparent`` continued to the engine; ``Server-Timing`` (and its absence when switched off);
``/metrics`` after traffic; and no value of the PII corpus in any span, metric label or log line."""

from __future__ import annotations

import asyncio
import json
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

import gateway.services
from gateway.app import create_app
from gateway.observability.runtime import Observability, build_observability, seed_vocabularies
from gateway.settings import ObservabilitySettings, load_settings
from tests.conftest import free_port
from tests.pii_corpus import ZERO_WIDTH, generate

MODEL = "obs-model"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
CHAT = "/v1/chat/completions"


# ----------------------------------------------------------------------------- the engine


@dataclass
class FakeEngine:
    """An SGLang-shaped engine on its own thread and loop: echoes the last user message, word by
    word when streaming, and keeps the headers of every generation request."""

    url: str = ""
    headers: list[dict[str, str]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _runner: web.AppRunner | None = None

    def start(self) -> FakeEngine:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_post(CHAT, self._chat)
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._runner = web.AppRunner(app)
        port = free_port()
        self._call(self._runner.setup())
        self._call(web.TCPSite(self._runner, "127.0.0.1", port).start())
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _models(self, _request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        body = await request.json()
        text = str(body["messages"][-1]["content"])
        usage = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return web.json_response(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": MODEL,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        words = text.split(" ")
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            await response.write(b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n")
        done = {"index": 0, "delta": {}, "finish_reason": "stop"}
        await response.write(b"data: " + json.dumps({**base, "choices": [done]}).encode() + b"\n\n")
        await response.write(
            b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n"
        )
        await response.write(b"data: [DONE]\n\n")
        return response


@pytest.fixture(scope="module")
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine().start()
    yield fake
    fake.stop()


# ----------------------------------------------------------------------------- the gateway


@dataclass
class Gateway:
    client: TestClient[Any]
    exporter: InMemorySpanExporter
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


def _gateway(
    data_dir: Path, engine_url: str, monkeypatch: pytest.MonkeyPatch, *, pii: bool, server_timing: bool = True
) -> Iterator[Gateway]:
    exporter = InMemorySpanExporter()

    def start_observability(settings: ObservabilitySettings, **seed: Any) -> Observability:
        observability = build_observability(settings, span_exporter=exporter)
        seed_vocabularies(observability.metrics, policy=seed.get("policy"), models=seed.get("models"))
        return observability

    monkeypatch.setattr(gateway.services, "start_observability", start_observability)
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(data_dir),
            "engine": {"urls": [engine_url]},
            "pii": {"enabled": pii},
            "observability": {"server_timing": server_timing},
        },
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        services = client.app.state.services
        keys: dict[str, str] = {}

        async def make() -> None:
            for role in ("service", "admin"):
                keys[role] = (await services.keys.create(f"obs-{role}", [role]))[1]

        client.blocking_portal.call(make)
        yield Gateway(client, exporter, keys)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, engine: FakeEngine) -> Iterator[Gateway]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _gateway(tmp_path_factory.mktemp("obs-plain"), engine.url, monkeypatch, pii=False)


@pytest.fixture(scope="module")
def with_pii(tmp_path_factory: pytest.TempPathFactory, engine: FakeEngine) -> Iterator[Gateway]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _gateway(tmp_path_factory.mktemp("obs-pii"), engine.url, monkeypatch, pii=True)


def _chat(gw: Gateway, text: str, *, stream: bool, headers: dict[str, str] | None = None) -> Any:
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}], "stream": stream}
    return gw.client.post(CHAT, json=body, headers={**gw.auth("service"), **(headers or {})})


def _tree(spans: list[ReadableSpan]) -> tuple[ReadableSpan, dict[str, ReadableSpan]]:
    """The request's root span and its children by name (each name once)."""
    (root,) = [s for s in spans if s.kind is SpanKind.SERVER]
    children = [s for s in spans if s is not root]
    assert root.context is not None
    for child in children:
        assert child.parent is not None and child.parent.span_id == root.context.span_id, child.name
        assert child.context is not None and child.context.trace_id == root.context.trace_id
    names = [c.name for c in children]
    assert len(names) == len(set(names)), names
    return root, {c.name: c for c in children}


STEPS = {
    "gateway.authenticate",
    "gateway.authorize",
    "gateway.audit.request_record",
    "gateway.upstream",
    "gateway.output.filter",
    "gateway.audit.response_record",
}


# ----------------------------------------------------------------------------- spans


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_chat_request_is_one_trace_continued_to_the_engine(
    plain: Gateway, engine: FakeEngine, stream: bool
) -> None:
    plain.exporter.clear()
    engine.headers.clear()
    response = _chat(plain, "hello there world", stream=stream, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    root, steps = _tree(plain.spans())
    assert set(steps) == STEPS
    # The caller's trace goes on: same trace id, the caller's span is the parent.
    assert root.context is not None and format(root.context.trace_id, "032x") == CALLER_TRACE
    assert root.parent is not None and format(root.parent.span_id, "016x") == CALLER_SPAN
    assert root.name == "POST /v1/chat/completions"
    attributes = dict(root.attributes or {})
    assert attributes["http.route"] == CHAT
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.response.status_code"] == 200
    assert attributes["gateway.request_id"] == response.headers["x-request-id"]
    upstream = steps["gateway.upstream"]
    assert upstream.kind is SpanKind.CLIENT
    up: dict[str, Any] = dict(upstream.attributes or {})
    assert up["gen_ai.operation.name"] == "chat"
    assert up["gen_ai.provider.name"] == "sglang"
    assert up["gen_ai.request.model"] == MODEL
    assert up["gen_ai.usage.input_tokens"] == 11 and up["gen_ai.usage.output_tokens"] == 5
    assert up["gateway.stream"] is stream
    assert up["server.address"] == "127.0.0.1"
    assert 0 <= up["gateway.upstream.time_to_last_byte_s"] < 60
    if stream:
        assert 0 <= up["gateway.upstream.time_to_first_byte_s"] <= up["gateway.upstream.time_to_last_byte_s"]
        assert "gateway.filter.time_s" in dict(steps["gateway.output.filter"].attributes or {})
    # The engine got a traceparent naming the upstream span, in the caller's trace.
    (sent,) = engine.headers
    assert upstream.context is not None
    assert sent["traceparent"] == f"00-{CALLER_TRACE}-{format(upstream.context.span_id, '016x')}-01"
    assert "tracestate" not in sent
    authz = dict(steps["gateway.authorize"].attributes or {})
    assert authz == {"gateway.permission": "chat", "gateway.decision": "allow", "gateway.role": "service"}
    assert dict(steps["gateway.authenticate"].attributes or {}) == {"gateway.auth.method": "api_key"}
    record = dict(steps["gateway.audit.response_record"].attributes or {})
    assert record["gateway.delivered"] == "complete" and record["gateway.decision"] == "allow"


def test_without_a_traceparent_the_request_starts_a_trace(plain: Gateway, engine: FakeEngine) -> None:
    plain.exporter.clear()
    engine.headers.clear()
    assert _chat(plain, "fresh trace", stream=False).status_code == 200
    root, steps = _tree(plain.spans())
    assert root.parent is None
    assert root.context is not None and steps["gateway.upstream"].context is not None
    assert engine.headers[0]["traceparent"].split("-")[1] == format(root.context.trace_id, "032x")


def test_a_failed_authentication_is_a_span_with_its_reason(plain: Gateway) -> None:
    plain.exporter.clear()
    response = plain.client.post(CHAT, json={"model": MODEL, "messages": []}, headers={"Authorization": "x"})
    assert response.status_code == 401
    root, steps = _tree(plain.spans())
    assert set(steps) == {"gateway.authenticate"}
    assert dict(steps["gateway.authenticate"].attributes or {}) == {
        "gateway.auth.reason": "missing_credentials",
        "error.type": "AuthenticationError",
    }
    assert dict(root.attributes or {})["http.response.status_code"] == 401
    assert "server-timing" not in response.headers  # not a proxied answer


def test_a_denied_permission_is_recorded_on_the_authorize_span(plain: Gateway) -> None:
    plain.exporter.clear()
    response = plain.client.get("/audit/records", headers=plain.auth("service"))
    assert response.status_code == 403
    _root, steps = _tree(plain.spans())
    assert dict(steps["gateway.authorize"].attributes or {})["gateway.decision"] == "deny"


# ----------------------------------------------------------------------------- Server-Timing


def _timings(header: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        out[name] = float(duration)
    return out


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_server_timing_says_where_the_time_went(with_pii: Gateway, stream: bool) -> None:
    response = _chat(with_pii, "Call me at 212-555-0187 tomorrow", stream=stream)
    assert response.status_code == 200
    timings = _timings(response.headers["server-timing"])
    assert set(timings) == {"gateway", "upstream", "pii", "audit"}
    assert all(value >= 0 for value in timings.values())


def test_server_timing_can_be_switched_off(
    tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for gw in _gateway(tmp_path, engine.url, monkeypatch, pii=False, server_timing=False):
        response = _chat(gw, "no timing please", stream=False)
        assert response.status_code == 200
        assert "server-timing" not in response.headers


# ----------------------------------------------------------------------------- PII corpus


SAMPLES = generate(24)
VALUES = sorted({s.text[span.start : span.end] for s in SAMPLES for span in s.spans})


def _visible(value: str) -> str:
    return unicodedata.normalize("NFKC", "".join(ch for ch in value if ch not in ZERO_WIDTH))


def _leaks(rendered: str) -> list[str]:
    seen = _visible(rendered)
    return [value for value in VALUES if value in rendered or _visible(value) in seen]


def _span_text(span: ReadableSpan) -> str:
    parts = [span.name, json.dumps(dict(span.attributes or {}), ensure_ascii=False, default=str)]
    for event in span.events:
        parts.append(event.name)
        parts.append(json.dumps(dict(event.attributes or {}), ensure_ascii=False, default=str))
    return "\n".join(parts)


def test_no_corpus_value_reaches_a_span_a_metric_label_or_a_log_line(with_pii: Gateway) -> None:
    with_pii.exporter.clear()
    with capture_logs() as logs:
        for index, sample in enumerate(SAMPLES):
            response = _chat(
                with_pii,
                sample.text,
                stream=index % 2 == 1,
                headers={"X-Data-Subject": f"subject-{index}"},
            )
            assert response.status_code in (200, 400, 403), response.text
        metrics = with_pii.client.get("/metrics", headers=with_pii.auth("admin"))
    assert metrics.status_code == 200
    spans = with_pii.spans()
    assert len([s for s in spans if s.kind is SpanKind.SERVER]) == len(SAMPLES) + 1
    assert _leaks("\n".join(_span_text(span) for span in spans)) == []
    labels = [
        json.dumps(sample.labels, ensure_ascii=False)
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
    ]
    assert _leaks("\n".join(labels)) == []
    assert logs, "the requests were logged"
    assert _leaks("\n".join(json.dumps(e, ensure_ascii=False, default=str) for e in logs)) == []
    # Detection did run and find the corpus's entities: counted by type on the detection spans.
    detected: list[dict[str, Any]] = [
        dict(s.attributes or {}) for s in spans if s.name == "gateway.pii.detect"
    ]
    assert detected and all(d["gateway.pii.outcome"] == "ok" for d in detected)
    assert sum(int(d.get("gateway.pii.entities_total", 0)) for d in detected) > 0
    assert any(
        k.startswith("gateway.pii.entities.") and k != "gateway.pii.entities_total"
        for d in detected
        for k in d
    )


# ----------------------------------------------------------------------------- /metrics


def test_metrics_hold_the_request_path_series_after_traffic(with_pii: Gateway) -> None:
    assert _chat(with_pii, "Reach me at 212-555-0187", stream=True).status_code == 200
    assert _chat(with_pii, "Mail mary.jones@example.org", stream=False).status_code == 200
    # An output rule redacts the secret the engine echoes back.
    assert _chat(with_pii, "The key is sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2", stream=False).status_code == 200
    text = with_pii.client.get("/metrics", headers=with_pii.auth("admin")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))

    assert value("gateway_requests_total", route=CHAT, model=MODEL, role="service", status="200") >= 2
    assert value("gateway_request_duration_seconds_count", route=CHAT, model=MODEL) >= 2
    assert value("gateway_upstream_duration_seconds_count", model=MODEL) >= 2
    assert value("gateway_overhead_seconds_count", route=CHAT, model=MODEL) >= 2
    assert value("gateway_time_to_first_token_seconds_count", model=MODEL) >= 1
    assert value("gateway_time_per_output_token_seconds_count", model=MODEL) >= 1
    assert value("gateway_tokens_total", model=MODEL, kind="output") >= 10
    assert value("gateway_pii_entities_total", direction="request") >= 2
    assert value("gateway_pii_detection_duration_seconds_count", direction="request") >= 2
    assert value("gateway_pii_detection_duration_seconds_count", direction="answer") >= 2
    assert value("gateway_audit_commit_duration_seconds_count") >= 4
    assert value("gateway_audit_batch_size_count") >= 4
    redactions = {
        dict(ls)["rule"]: v for (n, ls), v in samples.items() if n == "gateway_filter_actions_total"
    }
    assert redactions and all(rule != "other" for rule in redactions)
