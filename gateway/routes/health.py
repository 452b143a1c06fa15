"""Liveness and readiness probes (no credential needed, no details beyond up/down per part)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from gateway.guards import PUBLIC, services_of


@get("/healthz", opt={"permission": PUBLIC})
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", opt={"permission": PUBLIC})
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when the engine answers and the audit store is writable."""
    services = services_of(request)
    checks = {"engine": await services.engine.healthy(), "storage": await services.audit.healthy()}
    ready = all(checks.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "not_ready",
        "checks": checks,
        "engine_mode": "simulator" if request.app.state.simulated_engine else "sglang",
    }
    return Response(body, status_code=200 if ready else 503)
