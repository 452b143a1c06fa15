"""KEK rotation: add a KEK version, re-wrap every data key under it (payloads are not touched),
then retire old versions once no data key depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.database import create_db_engine
from audit.errors import AuditError, KeyUnavailable
from audit.keyring import KeyProvider, LocalKeyFileProvider, WrappedKey, dek_context
from audit.migrations import migrate
from audit.schema import deks as deks_table
from audit.settings import AuditSettings

log = structlog.get_logger("audit.rotation")
_BATCH = 500


@dataclass(frozen=True)
class RotationSummary:
    new_version: int
    rewrapped: int
    versions_in_use: tuple[int, ...]
    retirable_versions: tuple[int, ...]  # available to the provider but no longer used by any data key


async def _versions_in_use(engine: AsyncEngine) -> tuple[int, ...]:
    d = deks_table.c
    async with engine.connect() as conn:
        rows = (await conn.execute(select(d.kek_version, func.count()).group_by(d.kek_version))).all()
    return tuple(sorted(int(row[0]) for row in rows))


async def rewrap_deks(engine: AsyncEngine, provider: KeyProvider, to_version: int) -> int:
    """Re-wrap every data key not yet under ``to_version``; returns how many were re-wrapped."""
    d = deks_table.c
    done = 0
    after = ""
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(d.key_id, d.scope, d.kek_version, d.wrapped)
                    .where(d.kek_version != to_version, d.key_id > after)
                    .order_by(d.key_id)
                    .limit(_BATCH)
                )
            ).all()
        if not rows:
            return done
        async with engine.begin() as conn:
            for key_id, scope, version, wrapped in rows:
                context = dek_context(key_id, scope)
                dek = await provider.unwrap(WrappedKey(int(version), bytes(wrapped)), context)
                fresh = await provider.wrap(dek, context)
                if fresh.version != to_version:
                    raise KeyUnavailable("KEK version changed during re-wrap")
                result = await conn.execute(
                    update(deks_table)
                    .where(d.key_id == key_id, d.kek_version == version)
                    .values(kek_version=fresh.version, wrapped=fresh.blob)
                )
                done += result.rowcount
        after = rows[-1][0]


async def rotate_kek(
    settings: AuditSettings, engine: AsyncEngine | None = None, provider: KeyProvider | None = None
) -> RotationSummary:
    """Add a KEK version (it becomes current) and re-wrap every data key under it.

    Old versions keep decrypting until retired with :func:`retire_kek`.
    """
    key_provider = provider or settings.key_provider or LocalKeyFileProvider(settings.key_dir)
    db = engine or create_db_engine(settings.url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await migrate(db)
        version = await key_provider.create_version()
        rewrapped = await rewrap_deks(db, key_provider, version)
        in_use = await _versions_in_use(db)
    finally:
        if engine is None:
            await db.dispose()
    available = await key_provider.available_versions()
    retirable = tuple(v for v in available if v != version and v not in in_use)
    log.info("audit.kek_rotated", version=version, rewrapped=rewrapped, retirable=list(retirable))
    return RotationSummary(version, rewrapped, in_use, retirable)


async def retire_kek(
    settings: AuditSettings,
    version: int,
    engine: AsyncEngine | None = None,
    provider: KeyProvider | None = None,
) -> None:
    """Destroy KEK ``version``; refuses while any data key is still wrapped under it or it is current."""
    key_provider = provider or settings.key_provider or LocalKeyFileProvider(settings.key_dir)
    if version == await key_provider.current_version():
        raise AuditError("the current KEK version cannot be retired")
    db = engine or create_db_engine(settings.url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await migrate(db)
        in_use = await _versions_in_use(db)
    finally:
        if engine is None:
            await db.dispose()
    if version in in_use:
        raise AuditError(f"KEK version {version} still wraps data keys; run a rotation first")
    await key_provider.destroy_version(version)
    log.info("audit.kek_retired", version=version)
