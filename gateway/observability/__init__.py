"""Observability that cannot leak: traces with an attribute allow-list (``tracing``), metrics with
closed label vocabularies (``metrics``, ``labels``), the last-line log scrubber (``scrub``) and
the per-app bundle built in the lifespan (``runtime``).

This package's ``__init__`` imports nothing: the CLI imports the log scrubber without the
OpenTelemetry SDK or the Prometheus client.
"""
