"""The gateway's metrics: a typed facade over a Prometheus registry of its own (one per app, so
tests and several apps in one process never share series), mirrored to OpenTelemetry (OTLP) when
a meter provider is given.

Every label value goes through a closed vocabulary (:mod:`gateway.observability.labels`): route
templates, served model names, role names, status codes, entity types and rule ids. Nothing a
caller wrote can become a label; an unknown value is counted as ``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from gateway.observability.labels import Vocabularies, status_label

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

__all__ = ["METRIC_NAMES", "DetectionOutcome", "Direction", "GatewayMetrics", "PoolState"]

Direction = Literal["request", "answer"]
DetectionOutcome = Literal["ok", "timeout", "queue_timeout", "cancelled", "error"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_TPOT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.5)
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)


@dataclass(frozen=True)
class _Spec:
    name: str
    kind: Literal["counter", "histogram"]
    help: str
    labels: tuple[str, ...]
    unit: str = ""
    buckets: tuple[float, ...] = ()


_REQUEST_LABELS = ("route", "model", "role", "status")
_SPECS: Final = (
    _Spec("gateway_requests", "counter", "Requests answered", _REQUEST_LABELS),
    _Spec(
        "gateway_request_duration_seconds",
        "histogram",
        "Time from request to the end of the answer",
        _REQUEST_LABELS,
        "s",
        _LATENCY_BUCKETS,
    ),
    _Spec(
        "gateway_upstream_duration_seconds",
        "histogram",
        "Time spent waiting for the engine",
        ("model",),
        "s",
        _LATENCY_BUCKETS,
    ),
    _Spec(
        "gateway_overhead_seconds",
        "histogram",
        "The gateway's own time: total minus upstream",
        ("route", "model"),
        "s",
        _FAST_BUCKETS,
    ),
    _Spec(
        "gateway_time_to_first_token_seconds",
        "histogram",
        "Time to the first answer token",
        ("model",),
        "s",
        _TTFT_BUCKETS,
    ),
    _Spec(
        "gateway_time_per_output_token_seconds",
        "histogram",
        "Time per output token after the first",
        ("model",),
        "s",
        _TPOT_BUCKETS,
    ),
    _Spec("gateway_tokens", "counter", "Tokens used, by kind (input, output)", ("model", "kind")),
    _Spec(
        "gateway_pii_entities", "counter", "Personal data found, by entity type", ("entity_type", "direction")
    ),
    _Spec(
        "gateway_pii_detection_duration_seconds",
        "histogram",
        "Time of one completed detection step",
        ("direction",),
        "s",
        _FAST_BUCKETS,
    ),
    _Spec(
        "gateway_pii_detection_failures",
        "counter",
        "Detection steps refused (timeout, queue, error)",
        ("direction", "reason"),
    ),
    _Spec(
        "gateway_filter_actions", "counter", "Output and input filter actions, by rule", ("rule", "action")
    ),
    _Spec(
        "gateway_audit_commit_duration_seconds",
        "histogram",
        "Time of one audit commit (a batch)",
        (),
        "s",
        _FAST_BUCKETS,
    ),
    _Spec("gateway_audit_batch_size", "histogram", "Records per audit commit", (), "", _BATCH_BUCKETS),
    _Spec("gateway_audit_commit_failures", "counter", "Audit commits that failed", ()),
)
_SPEC_BY_NAME: Final = {spec.name: spec for spec in _SPECS}

#: Every metric family name the registry exports (counters with their ``_total`` suffix).
METRIC_NAMES: Final = frozenset(
    {f"{s.name}_total" if s.kind == "counter" else s.name for s in _SPECS}
    | {"gateway_engine_workers", "gateway_engine_queue_depth", "gateway_build_info"}
)

_T = TypeVar("_T")

PoolState = Literal["healthy", "unhealthy"]
_POOL_STATES: Final[tuple[PoolState, ...]] = ("healthy", "unhealthy")


class _PoolCollector(Collector):
    """Engine pool health and queue depth, read from callbacks when Prometheus scrapes."""

    def __init__(self) -> None:
        self.workers: Callable[[], Mapping[PoolState, int]] | None = None
        self.queue_depth: Callable[[], int] | None = None

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily("gateway_engine_workers", "Engine workers by health", labels=["state"]),
            GaugeMetricFamily("gateway_engine_queue_depth", "Requests waiting for an engine worker"),
        ]

    def collect(self) -> Iterable[Metric]:
        # A callback that fails reports nothing (an alert on absent() sees it), never a stale value.
        workers = _safe_call(self.workers)
        if workers is not None:
            family = GaugeMetricFamily("gateway_engine_workers", "Engine workers by health", labels=["state"])
            for state in _POOL_STATES:
                family.add_metric([state], float(workers.get(state, 0)))
            yield family
        depth = _safe_call(self.queue_depth)
        if depth is not None:
            yield GaugeMetricFamily(
                "gateway_engine_queue_depth", "Requests waiting for an engine worker", value=float(depth)
            )


def _safe_call(callback: Callable[[], _T] | None) -> _T | None:
    if callback is None:
        return None
    try:
        return callback()
    except Exception:  # a probe must never break the scrape
        return None


class GatewayMetrics:
    """Every metric the gateway reports, recorded through typed methods.

    ``labels`` holds the vocabularies (fill them from the route table, the policy and the model
    list; :meth:`Vocabularies` starts nearly empty, so everything is ``other`` until then).
    """

    def __init__(self, *, version: str = "0.0.0", meter_provider: MeterProvider | None = None) -> None:
        self.labels = Vocabularies()
        self.registry = CollectorRegistry(auto_describe=True)
        self._prom: dict[str, Counter | Histogram] = {}
        self._children: dict[tuple[str, tuple[str, ...]], Counter | Histogram] = {}
        for spec in _SPECS:
            if spec.kind == "counter":
                self._prom[spec.name] = Counter(spec.name, spec.help, spec.labels, registry=self.registry)
            else:
                self._prom[spec.name] = Histogram(
                    spec.name, spec.help, spec.labels, registry=self.registry, buckets=spec.buckets
                )
        info = Gauge("gateway_build_info", "The gateway's version", ["version"], registry=self.registry)
        info.labels(version).set(1)
        self._pool = _PoolCollector()
        self.registry.register(self._pool)
        self._otel: _OtelMirror | None = _OtelMirror(meter_provider, self._pool) if meter_provider else None

    def __repr__(self) -> str:
        return "GatewayMetrics()"

    # ------------------------------------------------------------------ recording

    def observe_request(
        self,
        *,
        route: str,
        model: str | None,
        role: str | None,
        status: int,
        duration_s: float,
        upstream_s: float | None = None,
    ) -> None:
        """One answered request; with ``upstream_s``, also the engine's share and the overhead."""
        labels = (
            self.labels.routes.label(route),
            self.labels.models.label(model),
            self.labels.roles.label(role),
            status_label(status),
        )
        self._record("gateway_requests", 1.0, labels)
        self._record("gateway_request_duration_seconds", duration_s, labels)
        if upstream_s is not None:
            self._record("gateway_upstream_duration_seconds", upstream_s, labels[1:2])
            self._record("gateway_overhead_seconds", max(duration_s - upstream_s, 0.0), labels[:2])

    def observe_generation(
        self,
        *,
        model: str | None,
        time_to_first_token_s: float | None,
        generation_s: float | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """Token timing of one answer: time to first token, and time per output token after the
        first (``generation_s`` is first token to last)."""
        model_label = (self.labels.models.label(model),)
        if time_to_first_token_s is not None:
            self._record("gateway_time_to_first_token_seconds", time_to_first_token_s, model_label)
        if generation_s is not None and output_tokens > 1:
            self._record(
                "gateway_time_per_output_token_seconds", generation_s / (output_tokens - 1), model_label
            )
        if input_tokens > 0:
            self._record("gateway_tokens", float(input_tokens), (*model_label, "input"))
        if output_tokens > 0:
            self._record("gateway_tokens", float(output_tokens), (*model_label, "output"))

    def count_pii_entities(self, counts: Mapping[str, int], *, direction: Direction) -> None:
        """Entities found in one request or answer, by type."""
        side = self.labels.directions.label(direction)
        for entity_type, count in counts.items():
            if count > 0:
                self._record(
                    "gateway_pii_entities", float(count), (self.labels.entity_types.label(entity_type), side)
                )

    def observe_pii_detection(
        self, *, direction: Direction, duration_s: float, outcome: DetectionOutcome
    ) -> None:
        """One detection step: its time when it completed, a failure count (by reason) when not."""
        side = self.labels.directions.label(direction)
        if outcome == "ok":
            self._record("gateway_pii_detection_duration_seconds", duration_s, (side,))
        else:
            self._record("gateway_pii_detection_failures", 1.0, (side, self.labels.outcomes.label(outcome)))

    def count_filter_actions(self, actions: Iterable[tuple[str, str, int]]) -> None:
        """Filter decisions of one request or answer: ``(rule id, action, count)``."""
        for rule, action, count in actions:
            if count > 0:
                self._record(
                    "gateway_filter_actions",
                    float(count),
                    (self.labels.rules.label(rule), self.labels.actions.label(action)),
                )

    def observe_audit_commit(self, *, duration_s: float, batch_size: int, ok: bool) -> None:
        """One audit commit (a group-committed batch of records)."""
        if ok:
            self._record("gateway_audit_commit_duration_seconds", duration_s, ())
            self._record("gateway_audit_batch_size", float(batch_size), ())
        else:
            self._record("gateway_audit_commit_failures", 1.0, ())

    def watch_engine_pool(
        self,
        *,
        workers: Callable[[], Mapping[PoolState, int]],
        queue_depth: Callable[[], int],
    ) -> None:
        """Report the engine pool through callbacks read at scrape (and export) time."""
        self._pool.workers = workers
        self._pool.queue_depth = queue_depth

    def _record(self, name: str, value: float, labels: tuple[str, ...]) -> None:
        key = (name, labels)
        child = self._children.get(key)
        if child is None:
            # Label values come from closed vocabularies (self.labels), so this stays small;
            # prometheus_client's labels() validates and locks on every call (issue 20).
            instrument = self._prom[name]
            child = instrument.labels(*labels) if labels else instrument
            self._children[key] = child
        if isinstance(child, Counter):
            child.inc(value)
        else:
            child.observe(value)
        if self._otel is not None:
            self._otel.record(_SPEC_BY_NAME[name], value, labels)

    # ------------------------------------------------------------------ exposition

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the format the scraper's ``Accept`` header asks for (Prometheus text
        by default, OpenMetrics when asked) and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _OtelMirror:
    """The same observations as OpenTelemetry instruments (for an OTLP metric exporter)."""

    def __init__(self, meter_provider: MeterProvider, pool: _PoolCollector) -> None:
        meter = meter_provider.get_meter("gateway")
        self._instruments: dict[str, object] = {}
        for spec in _SPECS:
            if spec.kind == "counter":
                self._instruments[spec.name] = meter.create_counter(spec.name, spec.unit, spec.help)
            else:
                self._instruments[spec.name] = meter.create_histogram(
                    spec.name, spec.unit, spec.help, explicit_bucket_boundaries_advisory=list(spec.buckets)
                )
        self._pool = pool
        meter.create_observable_gauge("gateway_engine_workers", [self._observe_workers])
        meter.create_observable_gauge("gateway_engine_queue_depth", [self._observe_queue])

    def record(self, spec: _Spec, value: float, labels: tuple[str, ...]) -> None:
        from opentelemetry.metrics import Counter as OtelCounter
        from opentelemetry.metrics import Histogram as OtelHistogram

        attributes = dict(zip(spec.labels, labels, strict=True))
        instrument = self._instruments[spec.name]
        if isinstance(instrument, OtelCounter):
            instrument.add(value, attributes)
        elif isinstance(instrument, OtelHistogram):
            instrument.record(value, attributes)

    def _observe_workers(self, _options: CallbackOptions) -> Iterator[Observation]:
        from opentelemetry.metrics import Observation

        workers = _safe_call(self._pool.workers)
        if workers is not None:
            for state in _POOL_STATES:
                yield Observation(workers.get(state, 0), {"state": state})

    def _observe_queue(self, _options: CallbackOptions) -> Iterator[Observation]:
        from opentelemetry.metrics import Observation

        depth = _safe_call(self._pool.queue_depth)
        if depth is not None:
            yield Observation(depth)
