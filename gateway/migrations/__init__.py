"""Alembic migrations of the gateway's own tables (API keys).

They use their own version table, ``gateway_alembic_version``, so they live beside the audit
log's migrations in the same database without either seeing the other's revisions.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "gateway_alembic_version"
_SCRIPT_LOCATION = Path(__file__).resolve().parent
# Arbitrary constant shared by every gateway replica: serializes concurrent upgrades on PostgreSQL.
_PG_LOCK_ID = 0x6761_7465_6B65_7973 & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at these migrations."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # Serializes upgrades from several processes (``serve --workers N`` on a fresh data
        # directory): without it two workers both create the version table and one fails.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the gateway's tables to the newest revision (idempotent; safe from several replicas)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
