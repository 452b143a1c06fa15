"""Long-lived objects of one gateway process, built in the app's lifespan and injected into handlers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.database import create_db_engine as create_database_engine
from audit.files import ensure_private_dir, load_or_create_secret
from audit.store import AuditLog, AuditSettings
from engine.client import EngineClient, EngineConfig
from engine.pool import PoolConfig
from engine.pool.client import PooledEngineClient
from gateway.auth.jwt import JWTSettings, JWTVerifier
from gateway.auth.keys import KeyStore
from gateway.auth.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from gateway.observability.metrics import PoolState
from gateway.observability.runtime import Observability, seed_vocabularies, start_observability
from gateway.settings import Settings
from policies.bundle import PolicyBundle, PolicyHolder
from policies.pii.offload import DetectionPool

if TYPE_CHECKING:  # spaCy and Presidio load only where detection runs (not for CLI commands)
    from policies.pii.analyzer import PIIDetector

log = structlog.get_logger("gateway.services")

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent.parent / "policies" / "defaults"


class DetectorHolder:
    """The PII detector in force. A policy reload replaces it whole (one reference assignment),
    so a request that took :attr:`current` once keeps one detector from start to end."""

    __slots__ = ("_current",)

    def __init__(self, detector: PIIDetector | None) -> None:
        self._current = detector

    def __repr__(self) -> str:
        return "DetectorHolder()"

    @property
    def current(self) -> PIIDetector | None:
        """The detector now in force (None when PII detection is switched off)."""
        return self._current

    def replace(self, detector: PIIDetector) -> None:
        """Put ``detector`` in force for requests that start from now on."""
        self._current = detector


@dataclass(frozen=True, eq=False)
class Services:
    """The long-lived objects of one gateway process. Frozen: what changes at run time (the policy
    bundle, the PII detector) lives in a holder whose snapshot is replaced atomically."""

    settings: Settings
    db: AsyncEngine
    audit: AuditLog
    keys: KeyStore
    policies: PolicyHolder
    engine: EngineClient
    limiter: RateLimiter
    detectors: DetectorHolder
    jwt: JWTVerifier | None
    pii_pool: DetectionPool
    # Metrics and tracing of this app (gateway.observability); GET /metrics reads it.
    observability: Observability
    pii_cache_key: bytes = field(default=b"", repr=False)
    # Tasks that outlive their request (audit records of abandoned streams, SIGHUP reloads):
    # the lifespan waits for them (gateway.pipeline.drain_background) before the audit log closes.
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def __repr__(self) -> str:
        return "Services()"

    @property
    def policy(self) -> PolicyBundle:
        """The policy bundle in force now; a request takes it once (the guard does)."""
        return self.policies.current

    @property
    def detector(self) -> PIIDetector | None:
        """The PII detector in force now; a request takes it once."""
        return self.detectors.current

    async def reload_policies(self) -> PolicyBundle:
        """Reload policy documents (atomic; raises PolicyDocumentError and keeps the old ones on error).

        The PII detector is rebuilt only when the PII document changed (its recognizers depend on it).
        """
        from policies.pii.analyzer import PIIDetector

        previous = self.policies.current
        bundle = await anyio.to_thread.run_sync(self.policies.reload)
        if self.detectors.current is not None and bundle.pii != previous.pii:
            detector = await anyio.to_thread.run_sync(
                lambda: PIIDetector(
                    bundle.pii, self.pii_cache_key, cache_entries=self.settings.pii.cache_entries
                )
            )
            self.detectors.replace(detector)
        seed_vocabularies(self.observability.metrics, policy=bundle)  # the new roles and rule ids
        log.info("policy.reloaded", digest=bundle.digest, previous_digest=previous.digest)
        return bundle


def create_db_engine(settings: Settings) -> AsyncEngine:
    """The one SQLAlchemy engine of the process (audit log and key store share it)."""
    if settings.database_url.startswith("sqlite"):
        ensure_private_dir(settings.data_path)
    return create_database_engine(settings.database_url)


def pool_config(settings: Settings, urls: tuple[str, ...]) -> PoolConfig:
    """The engine pool's settings (``engine.*``) over ``urls``."""
    engine = settings.engine
    return PoolConfig(
        urls=urls,
        mode=engine.mode,
        health_interval_s=engine.health_interval_s,
        health_timeout_s=engine.health_timeout_s,
        failure_threshold=engine.failure_threshold,
        cooldown_s=engine.cooldown_s,
        max_in_flight=engine.max_in_flight_per_worker,
        queue_size=engine.queue_size,
        queue_timeout_s=engine.queue_timeout_s,
        metrics_weighting=engine.metrics_weighting,
    )


def audit_settings(settings: Settings) -> AuditSettings:
    return AuditSettings(
        url=settings.database_url,
        key_dir=settings.key_dir / "audit",
        checkpoint_file=settings.checkpoint_path,
        checkpoint_every=settings.audit.checkpoint_every,
        checkpoint_interval_s=settings.audit.checkpoint_interval_s,
    )


def jwt_settings(settings: Settings) -> JWTSettings | None:
    auth = settings.auth
    if not (auth.jwt_jwks_file or auth.jwt_jwks_url):
        return None
    return JWTSettings(
        issuer=auth.jwt_issuer,
        audience=auth.jwt_audience,
        jwks_file=Path(auth.jwt_jwks_file) if auth.jwt_jwks_file else None,
        jwks_url=auth.jwt_jwks_url or None,
        algorithms=auth.jwt_algorithms,
        roles_claim=auth.jwt_roles_claim,
        role_map=dict(auth.jwt_role_map),
        tenant_claim=auth.jwt_tenant_claim or None,
    )


def policy_site_dir(settings: Settings) -> Path | None:
    return Path(settings.policy.dir) if settings.policy.dir else None


async def open_key_store(settings: Settings, db: AsyncEngine) -> KeyStore:
    """The API key store, migrated, with its HMAC pepper from the key ring."""
    from gateway.migrations import migrate

    ensure_private_dir(settings.data_path)
    ensure_private_dir(settings.key_dir)
    await migrate(db)
    pepper = load_or_create_secret(settings.key_dir / "api-key-pepper.bin")
    return KeyStore(
        db,
        pepper,
        timedelta(seconds=settings.auth.key_rotate_grace_s),
        cache_ttl=timedelta(seconds=settings.auth.key_cache_ttl_s),
    )


@contextlib.asynccontextmanager
async def open_services(settings: Settings, engine_urls: tuple[str, ...]) -> AsyncIterator[Services]:
    """Build every long-lived object; fail at start (not on the first request) if one cannot be built."""
    policies = PolicyHolder(DEFAULT_POLICY_DIR, policy_site_dir(settings))
    db = create_db_engine(settings)
    engine: EngineClient | None = None
    audit: AuditLog | None = None
    jwt: JWTVerifier | None = None
    limiter: RateLimiter | None = None
    pii_pool: DetectionPool | None = None
    observability: Observability | None = None
    try:
        keys = await open_key_store(settings, db)
        audit = await AuditLog.open(audit_settings(settings), engine=db)
        engine = PooledEngineClient(
            EngineConfig(
                urls=engine_urls,
                api_key=settings.engine.api_key,
                connect_timeout_s=settings.engine.connect_timeout_s,
                read_timeout_s=settings.engine.read_timeout_s,
                max_connections=settings.engine.max_connections,
            ),
            pool_config(settings, engine_urls),
        )
        limiter = (
            RedisRateLimiter(settings.ratelimit.redis_url)
            if settings.ratelimit.redis_url
            else MemoryRateLimiter()
        )
        from policies.pii.analyzer import PIIDetector

        detector: PIIDetector | None = None
        pii_cache_key = load_or_create_secret(settings.key_dir / "pii-cache.bin")
        if settings.pii.enabled:
            detector = await anyio.to_thread.run_sync(
                lambda: PIIDetector(
                    policies.current.pii, pii_cache_key, cache_entries=settings.pii.cache_entries
                )
            )
        jwt_config = jwt_settings(settings)
        if jwt_config is not None:
            jwt = JWTVerifier(jwt_config)
            await jwt.load()
        pii_pool = DetectionPool(
            settings.pii.max_parallel or os.cpu_count() or 1,
            settings.pii.timeout_s,
            settings.pii.queue_timeout_s,
            inline_max_chars=settings.pii.inline_max_chars,
        )
        observability = start_observability(
            settings.observability,
            policy=policies.current,
            models=[*settings.engine.model_aliases, *settings.engine.model_aliases.values()],
        )
        audit.observe_commits(observability.metrics.observe_audit_commit)
        pooled = engine

        def worker_counts() -> dict[PoolState, int]:
            status = pooled.pool_status()
            return {"healthy": status.healthy, "unhealthy": len(status.workers) - status.healthy}

        observability.metrics.watch_engine_pool(
            workers=worker_counts, queue_depth=lambda: pooled.pool_status().waiting
        )
        services = Services(
            settings=settings,
            db=db,
            audit=audit,
            keys=keys,
            policies=policies,
            engine=engine,
            limiter=limiter,
            detectors=DetectorHolder(detector),
            jwt=jwt,
            pii_pool=pii_pool,
            observability=observability,
            pii_cache_key=pii_cache_key,
        )
        yield services
    finally:
        if observability is not None:
            observability.close()
        if pii_pool is not None:
            pii_pool.close()
        if jwt is not None:
            await jwt.aclose()
        if limiter is not None:
            await limiter.aclose()
        if engine is not None:
            await engine.aclose()
        if audit is not None:
            await audit.close()
        await db.dispose()
