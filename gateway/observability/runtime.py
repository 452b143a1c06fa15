"""One app's observability objects: its metrics, its tracer provider, its optional OTLP meter
provider and its optional loopback metrics listener, built together and closed together."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from gateway.observability.metrics import GatewayMetrics
from gateway.observability.tracing import build_tracer_provider
from gateway.settings import ObservabilitySettings

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from policies.bundle import PolicyBundle

__all__ = [
    "LOOPBACK",
    "Observability",
    "build_observability",
    "gateway_version",
    "open_observability",
    "seed_vocabularies",
    "start_observability",
]

#: The only address the separate metrics listener binds.
LOOPBACK = "127.0.0.1"
_TRACER_NAME = "gateway"


@dataclass(frozen=True, eq=False)
class Observability:
    """Metrics and tracing of one app. Frozen; the label vocabularies inside ``metrics`` are
    replaced whole when the policy or the model list changes."""

    settings: ObservabilitySettings
    metrics: GatewayMetrics
    tracer_provider: TracerProvider
    meter_provider: MeterProvider | None = None
    # Whether spans are recorded and exported (an exporter is configured); when not, requests
    # make no span objects at all (gateway.observability.request).
    tracing: bool = False
    # The loopback listener's server, when observability.metrics_port is set and it is running.
    _listener: list[Any] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return "Observability()"

    @functools.cached_property
    def tracer(self) -> Tracer:
        """The gateway's tracer (spans of this app's provider), made once."""
        return self.tracer_provider.get_tracer(_TRACER_NAME)

    @property
    def metrics_on_main_port(self) -> bool:
        """Whether ``GET /metrics`` is served on the gateway's own port (no separate listener)."""
        return not self.settings.metrics_port

    @property
    def listener_port(self) -> int | None:
        """The port the loopback listener is bound to (None when there is none)."""
        return int(self._listener[0].server_port) if self._listener else None

    def start_listener(self) -> None:
        """Serve the metrics on ``127.0.0.1:metrics_port`` (a thread; no credential asked: only
        this host can connect)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(
            self.settings.metrics_port, addr=LOOPBACK, registry=self.metrics.registry
        )
        self._listener.append(server)

    def close(self) -> None:
        """Stop the listener and flush and shut down the exporters."""
        for server in self._listener:
            # shutdown() waits for serve_forever to return; run it off the caller's thread.
            stopper = threading.Thread(target=server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout=5)
            server.server_close()
        self._listener.clear()
        self.tracer_provider.shutdown()
        shutdown = getattr(self.meter_provider, "shutdown", None)
        if shutdown is not None:
            shutdown()


def build_observability(
    settings: ObservabilitySettings,
    *,
    version: str = "0.0.0",
    span_exporter: SpanExporter | None = None,
    meter_provider: MeterProvider | None = None,
) -> Observability:
    """Metrics and tracer provider as ``settings`` say (no listener started, nothing sent when no
    OTLP endpoint is set). Tests pass an in-memory ``span_exporter`` and ``meter_provider``."""
    if meter_provider is None:
        from gateway.observability.otlp import otlp_meter_provider

        meter_provider = otlp_meter_provider(settings, version=version)
    return Observability(
        settings=settings,
        metrics=GatewayMetrics(version=version, meter_provider=meter_provider),
        tracer_provider=build_tracer_provider(
            settings, version=version, exporter=span_exporter, batch=span_exporter is None
        ),
        meter_provider=meter_provider,
        tracing=span_exporter is not None or bool(settings.otlp_endpoint),
    )


def seed_vocabularies(
    metrics: GatewayMetrics,
    *,
    policy: PolicyBundle | None = None,
    models: Iterable[str] | None = None,
    routes: Iterable[str] | None = None,
) -> None:
    """Fill the label vocabularies from what the gateway knows: role names, entity types and rule
    ids from ``policy``, served names and aliases from ``models``, templates from ``routes``."""
    labels = metrics.labels
    if policy is not None:
        labels.roles.replace(["none", *policy.rbac.roles])
        labels.entity_types.replace(policy.pii.entity_types)
        labels.rules.replace(["injection", *(rule.id for rule in policy.output.rules)])
    if models is not None:
        labels.models.replace(models)
    if routes is not None:
        labels.routes.replace(["unmatched", *routes])


def gateway_version() -> str:
    """The installed gateway's version (``0.0.0`` from a source tree that is not installed)."""
    try:
        return importlib.metadata.version("compliance-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def start_observability(
    settings: ObservabilitySettings,
    *,
    version: str | None = None,
    policy: PolicyBundle | None = None,
    models: Iterable[str] = (),
) -> Observability:
    """Build the app's observability with its vocabularies seeded and, when configured, the
    loopback listener started; the caller closes it (:meth:`Observability.close`)."""
    observability = build_observability(settings, version=version or gateway_version())
    try:
        seed_vocabularies(observability.metrics, policy=policy, models=models)
        if settings.metrics_port:
            observability.start_listener()
    except BaseException:
        observability.close()
        raise
    return observability


@contextlib.contextmanager
def open_observability(
    settings: ObservabilitySettings,
    *,
    version: str | None = None,
    policy: PolicyBundle | None = None,
    models: Iterable[str] = (),
) -> Iterator[Observability]:
    """:func:`start_observability`, closed (exporters flushed, listener stopped) on the way out."""
    observability = start_observability(settings, version=version, policy=policy, models=models)
    try:
        yield observability
    finally:
        observability.close()
