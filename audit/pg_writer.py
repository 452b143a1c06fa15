"""The PostgreSQL append path: one connection held by the writer, four round trips per batch.

Through SQLAlchemy a batch cost a pool checkout (with its pre-ping), BEGIN, the advisory lock,
the head read, the key read, the insert and COMMIT, each a round trip plus the async layer's own
work. Here the writer keeps one connection from the engine's pool and talks to asyncpg directly
(its statements are prepared once and cached):

1. ``BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(...)`` in one message;
2. the chain head and the stored keys of the batch's scopes, in one statement. It runs after the
   lock is granted, so under READ COMMITTED its snapshot sees every append committed before
   (a single statement that took the lock and read the head would read from a snapshot taken
   before the wait);
3. the inserts (records; keys and a checkpoint when there are any);
4. ``COMMIT``.

Any error discards the connection (its state is not known after a cancellation); the next batch
takes a fresh one. A connection found dead at BEGIN, before anything of the batch was sent, is
replaced once at once, so a database restart costs no append.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.chain import ChainHead, Pending, chain_records, checkpoint_for, head_after, record_values
from audit.datakeys import FreshKeys, ScopeKeys, StaleKeys, settle_scope_keys
from audit.records import StoredRecord
from audit.rows import APPEND_LOCK_ID, head_of_row, now_us
from audit.schema import checkpoints as checkpoints_table
from audit.schema import deks as deks_table
from audit.schema import records as records_table
from audit.signing import Checkpoint, CheckpointSigner

Written = tuple[list[StoredRecord], ScopeKeys, Checkpoint | None]

_BEGIN_LOCKED = f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({int(APPEND_LOCK_ID)})"

# The head row has a NULL scope; every other row is a stored key of one of the batch's scopes.
_HEAD_AND_KEYS = """
SELECT head.seq, head.hash, head.ts_us, NULL::text AS scope, NULL::text AS key_id
FROM (SELECT seq, hash, ts_us FROM audit_records ORDER BY seq DESC LIMIT 1) AS head
UNION ALL
SELECT NULL, NULL, NULL, scope, key_id FROM audit_deks WHERE scope = ANY($1::text[])
"""


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    # Names from the schema module, never from input; values are bound.
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


_RECORD_COLUMNS = tuple(c.name for c in records_table.c)
_DEK_COLUMNS = tuple(c.name for c in deks_table.c)
_CHECKPOINT_COLUMNS = tuple(c.name for c in checkpoints_table.c)
_INSERT_RECORD = _insert_sql(records_table.name, _RECORD_COLUMNS)
_INSERT_DEK = _insert_sql(deks_table.name, _DEK_COLUMNS)
_INSERT_CHECKPOINT = _insert_sql(checkpoints_table.name, _CHECKPOINT_COLUMNS)

# Errors that mean the connection was gone before BEGIN reached the server.
_DEAD_CONNECTION = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


class PostgresChainWriter:
    """Appends batches through one held asyncpg connection (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, signer: CheckpointSigner, checkpoint_every: int) -> None:
        self._engine = engine
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg.Connection of self._conn

    def __repr__(self) -> str:
        return f"PostgresChainWriter(connected={self._driver is not None})"

    async def write(self, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys) -> Written:
        """Chain, insert and commit ``items`` in one transaction; returns after COMMIT.

        Raises the driver's error (the connection is then discarded) or
        :class:`~audit.datakeys.StaleKeys` (nothing written)."""
        driver = await self._begin_locked()
        try:
            return await self._write_locked(driver, items, known, fresh)
        except StaleKeys:
            try:
                await driver.execute("ROLLBACK")
            except BaseException:
                await self._discard()
                raise
            raise
        except BaseException:
            await self._discard()
            raise

    async def close(self) -> None:
        """Give the connection back to the engine's pool."""
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.close()

    async def _begin_locked(self) -> Any:
        reused = self._driver is not None
        try:
            driver = await self._connect()
            await driver.execute(_BEGIN_LOCKED)
            return driver
        except _DEAD_CONNECTION:
            await self._discard()
            if not reused:
                raise
        except BaseException:
            await self._discard()
            raise
        # The held connection had died (a database restart): one fresh try, nothing was sent.
        try:
            driver = await self._connect()
            await driver.execute(_BEGIN_LOCKED)
        except BaseException:
            await self._discard()
            raise
        return driver

    async def _connect(self) -> Any:
        if self._driver is None:
            conn = await self._engine.connect()
            try:
                raw = await conn.get_raw_connection()
                self._driver = raw.driver_connection
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._driver

    async def _discard(self) -> None:
        driver, conn = self._driver, self._conn
        self._driver, self._conn = None, None
        if driver is not None:
            driver.terminate()  # at once: a cancelled statement may still be running on it
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # noqa: S110 - already terminated; the pool forgets it either way
                pass

    async def _write_locked(
        self, driver: Any, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys
    ) -> Written:
        scopes = {item.scope for item in items}
        head_row: tuple[Any, ...] | None = None
        stored_keys: dict[str, str] = {}
        for seq, head_hash, ts_us, scope, key_id in await driver.fetch(_HEAD_AND_KEYS, sorted(scopes)):
            if scope is None:
                head_row = (seq, head_hash, ts_us)
            else:
                stored_keys[scope] = key_id
        head = ChainHead(*head_of_row(head_row))
        now = now_us()
        scope_keys, new_keys = settle_scope_keys(stored_keys, scopes, known, fresh, now)
        if new_keys:
            await driver.executemany(_INSERT_DEK, [tuple(row[c] for c in _DEK_COLUMNS) for row in new_keys])
        stored = chain_records(items, head, scope_keys, self._signer, now)
        rows = [record_values(r) for r in stored]
        await driver.executemany(_INSERT_RECORD, [tuple(row[c] for c in _RECORD_COLUMNS) for row in rows])
        checkpoint = checkpoint_for(
            head.seq, head_after(head, stored), self._signer, self._checkpoint_every, now
        )
        if checkpoint is not None:
            values = checkpoint.to_dict()
            await driver.execute(_INSERT_CHECKPOINT, *(values[c] for c in _CHECKPOINT_COLUMNS))
        await driver.execute("COMMIT")
        return stored, scope_keys, checkpoint
