"""OTLP over HTTP exporters (traces and metrics), built only when an endpoint is configured.

The exporter package is imported here only, so a gateway without an OTLP endpoint never loads it.
Headers (a collector's credentials) go to the exporter and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.settings import ObservabilitySettings

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["otlp_meter_provider", "otlp_span_exporter", "signal_url"]


def signal_url(settings: ObservabilitySettings, signal: str) -> str:
    """The collector URL of one signal: the configured base plus ``/v1/traces`` or ``/v1/metrics``."""
    return f"{settings.otlp_endpoint.rstrip('/')}/v1/{signal}"


def otlp_span_exporter(settings: ObservabilitySettings) -> SpanExporter:
    """The OTLP/HTTP span exporter the settings describe (``otlp_endpoint`` must be set)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if not settings.otlp_endpoint:
        raise ValueError("observability.otlp_endpoint is not set")
    return OTLPSpanExporter(
        endpoint=signal_url(settings, "traces"),
        headers=dict(settings.otlp_headers),
        timeout=settings.otlp_timeout_s,
        certificate_file=settings.otlp_ca_file or None,
        client_certificate_file=settings.otlp_client_cert_file or None,
        client_key_file=settings.otlp_client_key_file or None,
    )


def otlp_meter_provider(settings: ObservabilitySettings, *, version: str) -> MeterProvider | None:
    """A meter provider exporting to the collector every ``otlp_metrics_interval_s``, or None
    when OTLP metrics are off (no endpoint, or ``otlp_metrics`` false)."""
    if not (settings.otlp_endpoint and settings.otlp_metrics):
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    exporter = OTLPMetricExporter(
        endpoint=signal_url(settings, "metrics"),
        headers=dict(settings.otlp_headers),
        timeout=settings.otlp_timeout_s,
        certificate_file=settings.otlp_ca_file or None,
        client_certificate_file=settings.otlp_client_cert_file or None,
        client_key_file=settings.otlp_client_key_file or None,
    )
    reader = PeriodicExportingMetricReader(
        exporter, export_interval_millis=settings.otlp_metrics_interval_s * 1000
    )
    resource = Resource.create({"service.name": settings.service_name, "service.version": version})
    return MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
