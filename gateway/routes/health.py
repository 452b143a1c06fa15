"""Liveness and readiness probes (no credential needed, no details beyond up/down per part)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from gateway.dependencies import ServicesDep
from gateway.guards import PUBLIC


class Health(msgspec.Struct, frozen=True):
    """The process is up."""

    status: str


class ReadinessChecks(msgspec.Struct, frozen=True):
    """Each part the gateway needs, up (true) or down."""

    engine: bool
    storage: bool


class Readiness(msgspec.Struct, frozen=True):
    """Whether the gateway can serve, per part, and which kind of engine it serves."""

    status: str
    checks: ReadinessChecks
    engine_mode: str


@get("/healthz", opt={"permission": PUBLIC}, summary="Liveness probe")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/readyz", opt={"permission": PUBLIC}, summary="Readiness probe")
async def readyz(services: ServicesDep, state: State) -> Response[Readiness]:
    """Ready (200) when the engine answers and the audit store is writable; 503 otherwise."""
    checks = ReadinessChecks(engine=await services.engine.healthy(), storage=await services.audit.healthy())
    ready = checks.engine and checks.storage
    body = Readiness(
        status="ready" if ready else "not_ready",
        checks=checks,
        engine_mode="simulator" if state.simulated_engine else "sglang",
    )
    return Response(body, status_code=200 if ready else 503)
