"""``GET /metrics``: the Prometheus exposition of this process's metrics.

Needs ``metrics:read`` (the admin role by default); label values come from closed vocabularies
only (:mod:`gateway.observability.labels`), so the answer holds no request content. When
``observability.metrics_port`` is set the metrics are served on that loopback port instead and
this route answers 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from gateway.dependencies import ServicesDep
from gateway.errors import NotFound

METRICS_PERMISSION = "metrics:read"


@get(
    "/metrics",
    opt={"permission": METRICS_PERMISSION},
    include_in_schema=False,
    summary="Prometheus metrics",
    sync_to_thread=False,
)
def metrics_endpoint(request: Request[Any, Any, Any], services: ServicesDep) -> Response[bytes]:
    """The registry in Prometheus text format (OpenMetrics when the scraper's Accept asks for it)."""
    observability = services.observability
    if not observability.metrics_on_main_port:
        raise NotFound("Metrics are served on the loopback metrics port.")
    body, content_type = observability.metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
