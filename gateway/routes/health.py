"""Liveness and readiness probes (no credential needed, counts only), and the engine pool's state
for operators (``GET /admin/engine``, permission ``engine:manage``)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from engine.pool import PoolStatus
from gateway.dependencies import ServicesDep
from gateway.guards import PUBLIC

ENGINE_MANAGE = {"permission": "engine:manage"}


class Health(msgspec.Struct, frozen=True):
    """The process is up."""

    status: str


class ReadinessChecks(msgspec.Struct, frozen=True):
    """Each part the gateway needs, up (true) or down."""

    engine: bool
    storage: bool


class EngineCounts(msgspec.Struct, frozen=True):
    """The engine's upstreams by state: counts only (an upstream URL may carry credentials)."""

    mode: str
    total: int
    healthy: int
    open_circuits: int
    in_flight: int
    waiting: int


class Readiness(msgspec.Struct, frozen=True):
    """Whether the gateway can serve, per part, and which kind of engine it serves."""

    status: str
    checks: ReadinessChecks
    engine_mode: str
    engine_workers: EngineCounts | None = None


class WorkerOut(msgspec.Struct, frozen=True):
    """One upstream: its URL without user info, health, circuit and load."""

    url: str
    healthy: bool
    checked: bool
    circuit: str
    in_flight: int
    running: float | None
    queued: float | None
    last_error: str | None


class EngineStatus(msgspec.Struct, frozen=True):
    """The engine pool of this gateway process."""

    mode: str
    healthy: int
    total: int
    waiting: int
    workers: list[WorkerOut]


def pool_status_of(engine: object) -> PoolStatus | None:
    """The engine client's pool state, or None for a client without a pool."""
    status = getattr(engine, "pool_status", None)
    if not callable(status):
        return None
    result = status()
    return result if isinstance(result, PoolStatus) else None


def engine_counts(status: PoolStatus) -> EngineCounts:
    """What /readyz tells anyone about the pool: how many upstreams are in which state."""
    return EngineCounts(
        mode=status.mode,
        total=len(status.workers),
        healthy=status.healthy,
        open_circuits=status.open_circuits,
        in_flight=sum(w.in_flight for w in status.workers),
        waiting=status.waiting,
    )


def engine_status(status: PoolStatus) -> EngineStatus:
    """The pool as ``GET /admin/engine`` and ``gateway engine status`` show it."""
    return EngineStatus(
        mode=status.mode,
        healthy=status.healthy,
        total=len(status.workers),
        waiting=status.waiting,
        workers=[
            WorkerOut(
                url=w.url,
                healthy=w.healthy,
                checked=w.checked,
                circuit=w.circuit,
                in_flight=w.in_flight,
                running=w.running,
                queued=w.queued,
                last_error=w.last_error,
            )
            for w in status.workers
        ],
    )


@get("/healthz", opt={"permission": PUBLIC}, summary="Liveness probe")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/readyz", opt={"permission": PUBLIC}, summary="Readiness probe")
async def readyz(services: ServicesDep, state: State) -> Response[Readiness]:
    """Ready (200) when at least one engine upstream is healthy (its last health check passed and
    its circuit is not open) and the audit store is writable; 503 otherwise."""
    checks = ReadinessChecks(engine=await services.engine.healthy(), storage=await services.audit.healthy())
    ready = checks.engine and checks.storage
    status = pool_status_of(services.engine)
    body = Readiness(
        status="ready" if ready else "not_ready",
        checks=checks,
        engine_mode="simulator" if state.simulated_engine else "sglang",
        engine_workers=engine_counts(status) if status is not None else None,
    )
    return Response(body, status_code=200 if ready else 503)


@get("/admin/engine", opt=ENGINE_MANAGE, summary="Engine workers: health, circuit, load")
async def engine_workers(services: ServicesDep) -> EngineStatus:
    """Each upstream of this gateway process: health, circuit and load (URLs without user info)."""
    await services.engine.healthy()  # starts the pool's checks if no request has yet
    status = pool_status_of(services.engine)
    if status is None:
        return EngineStatus(mode="pool", healthy=0, total=0, waiting=0, workers=[])
    return engine_status(status)
