"""The metrics facade: series by closed-vocabulary labels (anything else is ``other``), a registry
per instance, the Prometheus text that parses, the OTLP mirror, and pool gauges from callbacks."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.labels import OTHER, LabelVocabulary
from gateway.observability.metrics import METRIC_NAMES, GatewayMetrics
from gateway.observability.runtime import seed_vocabularies
from policies.bundle import DEFAULT_POLICY_DIR, load_policy_bundle
from tests.pii_corpus import generate

MODEL = "deepseek-ai/DeepSeek-V3"
ROUTE = "/v1/chat/completions"


def _seeded() -> GatewayMetrics:
    metrics = GatewayMetrics(version="1.2.3")
    seed_vocabularies(
        metrics,
        policy=load_policy_bundle(DEFAULT_POLICY_DIR, None),
        models=[MODEL],
        routes=[ROUTE, "/metrics"],
    )
    return metrics


def _samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_requests_and_latency_by_route_model_role_status() -> None:
    metrics = _seeded()
    metrics.observe_request(
        route=ROUTE, model=MODEL, role="clinician", status=200, duration_s=1.5, upstream_s=1.4
    )
    metrics.observe_request(route=ROUTE, model=MODEL, role="clinician", status=200, duration_s=0.5)
    samples = _samples(metrics)
    labels = (("model", MODEL), ("role", "clinician"), ("route", ROUTE), ("status", "200"))
    assert samples[("gateway_requests_total", labels)] == 2
    assert samples[("gateway_request_duration_seconds_count", labels)] == 2
    assert samples[("gateway_request_duration_seconds_sum", labels)] == 2.0
    overhead = (("model", MODEL), ("route", ROUTE))
    assert samples[("gateway_overhead_seconds_count", overhead)] == 1
    assert abs(samples[("gateway_overhead_seconds_sum", overhead)] - 0.1) < 1e-9
    assert samples[("gateway_upstream_duration_seconds_count", (("model", MODEL),))] == 1


def test_unknown_label_values_become_other() -> None:
    metrics = _seeded()
    text = generate(1)[0].text
    metrics.observe_request(
        route="/v1/chat/completions?x=1", model=text, role=text, status=999, duration_s=0.1
    )
    metrics.count_pii_entities({text: 3, "PHONE_NUMBER": 2}, direction="request")
    metrics.count_filter_actions([(text, "redact", 1), ("secret.jwt", text, 1)])
    body = metrics.exposition()[0].decode()
    assert text not in body
    samples = _samples(metrics)
    other = (("model", OTHER), ("role", OTHER), ("route", OTHER), ("status", OTHER))
    assert samples[("gateway_requests_total", other)] == 1
    assert samples[("gateway_pii_entities_total", (("direction", "request"), ("entity_type", OTHER)))] == 3
    assert (
        samples[("gateway_pii_entities_total", (("direction", "request"), ("entity_type", "PHONE_NUMBER")))]
        == 2
    )


def test_no_corpus_value_becomes_a_label() -> None:
    metrics = _seeded()
    for sample in generate(120):
        for span in sample.spans:
            value = sample.text[span.start : span.end]
            metrics.observe_request(route=value, model=value, role=value, status=200, duration_s=0.1)
            metrics.count_pii_entities({value: 1}, direction="answer")
            metrics.count_filter_actions([(value, value, 1)])
            metrics.observe_generation(
                model=value, time_to_first_token_s=0.1, generation_s=1.0, output_tokens=11
            )
    body = metrics.exposition()[0].decode()
    for family in text_string_to_metric_families(body):
        for point in family.samples:
            for key, label in point.labels.items():
                assert key in {"le", "version", "state"} or label in {OTHER, "200", "answer", "output"}, (
                    key,
                    label,
                )


def test_token_timing_pii_filter_and_audit_series() -> None:
    metrics = _seeded()
    metrics.observe_generation(
        model=MODEL, time_to_first_token_s=0.2, generation_s=1.0, input_tokens=30, output_tokens=11
    )
    metrics.observe_pii_detection(direction="request", duration_s=0.004, outcome="ok")
    metrics.observe_pii_detection(direction="answer", duration_s=5.0, outcome="timeout")
    metrics.count_filter_actions([("secret.jwt", "redact", 2)])
    metrics.observe_audit_commit(duration_s=0.002, batch_size=12, ok=True)
    metrics.observe_audit_commit(duration_s=0.5, batch_size=3, ok=False)
    samples = _samples(metrics)
    model = (("model", MODEL),)
    assert samples[("gateway_time_to_first_token_seconds_sum", model)] == 0.2
    assert abs(samples[("gateway_time_per_output_token_seconds_sum", model)] - 0.1) < 1e-9
    assert samples[("gateway_tokens_total", (("kind", "input"), ("model", MODEL)))] == 30
    assert samples[("gateway_pii_detection_duration_seconds_count", (("direction", "request"),))] == 1
    assert (
        samples[("gateway_pii_detection_failures_total", (("direction", "answer"), ("reason", "timeout")))]
        == 1
    )
    assert samples[("gateway_filter_actions_total", (("action", "redact"), ("rule", "secret.jwt")))] == 2
    assert samples[("gateway_audit_batch_size_sum", ())] == 12
    assert samples[("gateway_audit_commit_failures_total", ())] == 1
    assert samples[("gateway_build_info", (("version", "1.2.3"),))] == 1


def test_pool_gauges_read_callbacks_at_scrape_time_and_report_nothing_when_they_fail() -> None:
    metrics = _seeded()
    healthy = {"healthy": 2, "unhealthy": 1}
    metrics.watch_engine_pool(workers=lambda: healthy, queue_depth=lambda: 7)  # type: ignore[arg-type,return-value]
    samples = _samples(metrics)
    assert samples[("gateway_engine_workers", (("state", "healthy"),))] == 2
    assert samples[("gateway_engine_queue_depth", ())] == 7
    healthy["healthy"] = 0
    assert _samples(metrics)[("gateway_engine_workers", (("state", "healthy"),))] == 0

    def broken() -> int:
        raise RuntimeError("probe failed")

    metrics.watch_engine_pool(workers=lambda: healthy, queue_depth=broken)  # type: ignore[arg-type,return-value]
    names = {name for name, _ in _samples(metrics)}
    assert "gateway_engine_queue_depth" not in names
    assert "gateway_engine_workers" in names


def test_every_declared_family_is_exported_and_registries_are_separate() -> None:
    first, second = _seeded(), _seeded()
    first.watch_engine_pool(workers=lambda: {"healthy": 1}, queue_depth=lambda: 0)
    first.observe_request(route=ROUTE, model=MODEL, role="service", status=200, duration_s=0.1)
    families = {f.name for f in text_string_to_metric_families(first.exposition()[0].decode())}
    # The text parser names counters without their _total suffix.
    exported = {name for name in METRIC_NAMES} - {f"{f}_total" for f in families} - families
    assert not exported, exported
    assert ("gateway_requests_total", ()) not in _samples(second)
    assert not any(name == "gateway_requests_total" for name, _ in _samples(second))


def test_openmetrics_on_request() -> None:
    body, content_type = _seeded().exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_otlp_mirror_records_the_same_observations() -> None:
    reader = InMemoryMetricReader()
    metrics = GatewayMetrics(meter_provider=MeterProvider(metric_readers=[reader]))
    seed_vocabularies(metrics, models=[MODEL], routes=[ROUTE])
    metrics.observe_request(route=ROUTE, model=MODEL, role="nobody", status=200, duration_s=0.3)
    metrics.watch_engine_pool(workers=lambda: {"healthy": 3}, queue_depth=lambda: 1)
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: [dict(point.attributes or {}) for point in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert points["gateway_requests"] == [{"route": ROUTE, "model": MODEL, "role": OTHER, "status": "200"}]
    assert {"state": "healthy"} in points["gateway_engine_workers"]
    assert points["gateway_engine_queue_depth"] == [{}]


def test_vocabulary_refuses_values_that_do_not_look_like_identifiers() -> None:
    vocabulary = LabelVocabulary("model", ["ok-model/v1", "John Smith", "mary@bank.cn", ""])
    assert vocabulary.values == {"ok-model/v1"}
    assert vocabulary.label("John Smith") == OTHER
    assert vocabulary.label(None) == OTHER
