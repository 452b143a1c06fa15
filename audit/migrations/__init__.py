"""Alembic migrations of the audit tables, with their own version table ``audit_alembic_version``
so they share a database with the gateway's migrations without either seeing the other's revisions.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "audit_alembic_version"
_SCRIPT_LOCATION = Path(__file__).resolve().parent
# Constant shared by every replica: serializes concurrent upgrades on PostgreSQL.
_PG_LOCK_ID = 0x6175_6469_746D_6967


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at these migrations (the connection is handed to env.py)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


# Alembic's ``context`` is process-global: upgrades in one process must not interleave.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # serializes upgrades from several processes
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """``alembic upgrade head`` for the audit tables on ``engine`` (idempotent; safe from replicas)."""
    lock = _locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock, engine.begin() as conn:
        await conn.run_sync(_upgrade)
