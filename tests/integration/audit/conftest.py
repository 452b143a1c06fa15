"""Fixtures for audit log tests on a real SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from audit_helpers import make_settings
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit.store import AuditSettings


@pytest.fixture
def settings(tmp_path: Path) -> AuditSettings:
    return make_settings(tmp_path)


@pytest.fixture
async def pg_engine_factory(postgres_url: str) -> AsyncIterator[Callable[[], AsyncEngine]]:
    """Engines bound to a schema unique to this test (dropped afterwards)."""
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {dsn} is not usable: {type(exc).__name__}")
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    engines: list[AsyncEngine] = []

    def factory() -> AsyncEngine:
        engine = create_async_engine(postgres_url, connect_args={"server_settings": {"search_path": schema}})
        engines.append(engine)
        return engine

    factory.schema = schema  # type: ignore[attr-defined]
    factory.dsn = dsn  # type: ignore[attr-defined]
    try:
        yield factory
    finally:
        for engine in engines:
            await engine.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
