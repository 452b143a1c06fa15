"""The engine worker pool: health checks, circuit breakers, load-aware selection and a bounded
wait queue over several SGLang workers, or one ``sglang-router`` (docs/engine.md).

``breaker`` (per-worker circuit), ``worker`` (state of one upstream), ``selection`` (the pure
choice), ``metrics`` (SGLang's load gauges), ``pool`` (WorkerPool), ``probe`` (the HTTP health
check), ``errors`` (EngineSaturated).
"""

from __future__ import annotations

from engine.pool.breaker import CircuitBreaker, CircuitState
from engine.pool.errors import EngineSaturated
from engine.pool.pool import Lease, PoolConfig, PoolStatus, ProbeResult, WorkerPool, WorkerStatus

__all__ = [
    "CircuitBreaker",
    "CircuitState",
    "EngineSaturated",
    "Lease",
    "PoolConfig",
    "PoolStatus",
    "ProbeResult",
    "WorkerPool",
    "WorkerStatus",
]
