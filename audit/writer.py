"""The writer: appends, group-committed.

One writer task per process drains a queue of pending events and commits them in one transaction
per batch (group commit). Inside that transaction, under a lock that serializes every appender
across processes (PostgreSQL ``pg_advisory_xact_lock``; SQLite ``BEGIN IMMEDIATE``), the head (max
seq and its hash) is known, the next seqs assigned, each payload encrypted with the header as
associated data, the hashes chained (:mod:`audit.chain`) and the rows inserted. Where the batch is
written depends on the database (:func:`chain_writer_for`): a dedicated thread for a SQLite file
(:mod:`audit.sqlite_writer`), one held asyncpg connection for PostgreSQL (:mod:`audit.pg_writer`),
or a pooled SQLAlchemy connection (:func:`append_locked`, which erasures use too). A batch that
meets a lock conflict is tried again until the deadline. ``append`` returns only after
COMMIT; any failure to commit surfaces as :class:`AuditUnavailable` (fail closed), within
``append_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.chain import (
    AppendReceipt,
    ChainHead,
    Pending,
    chain_records,
    checkpoint_for,
    day_scope,
    head_after,
    prepare_event,
    receipt_of,
    record_values,
)
from audit.checkpoints import Checkpointer
from audit.database import is_transient_db_error, is_transient_driver_error, sqlite_file_of
from audit.datakeys import DataKeys, FreshKeys, ScopeKeys, StaleKeys
from audit.errors import AuditUnavailable
from audit.keyring import SubjectHasher
from audit.records import AuditEvent, StoredRecord
from audit.rows import begin_locked, now_us, read_chain_head
from audit.schema import checkpoints as checkpoints_table
from audit.schema import records as records_table
from audit.settings import AuditSettings, AuditStats
from audit.signing import Checkpoint, CheckpointSigner
from audit.sqlite_writer import SqliteChainWriter
from audit.witness import WitnessKeeper

__all__ = [
    "AppendReceipt",
    "BatchWriter",
    "CommitObserver",
    "Pending",
    "append_locked",
    "backoff",
    "day_scope",
    "prepare_event",
    "receipt_of",
]

log = structlog.get_logger("audit.writer")

Written = tuple[list[StoredRecord], ScopeKeys, Checkpoint | None]

_STOP = object()


def backoff(attempt: int) -> float:
    """Seconds to wait before trying a conflicting transaction again."""
    return min(0.02 * 2.0**attempt, 0.5)


async def append_locked(
    conn: AsyncConnection,
    items: Sequence[Pending],
    fresh: FreshKeys,
    *,
    keys: DataKeys,
    signer: CheckpointSigner,
    checkpoint_every: int,
    checkpoint_now: bool = False,
) -> Written:
    """Chain ``items`` onto the head and insert them, inside the caller's locked SQLAlchemy
    transaction (the caller commits): erasure records, and batches on databases without a
    dedicated append path.

    Returns the stored records, the data keys used (scope -> key id, key) and the checkpoint
    written, if any: every ``checkpoint_every`` records, or at once with ``checkpoint_now``.
    """
    head = ChainHead(*await read_chain_head(conn))
    scope_keys = await keys.for_scopes_locked(conn, {item.scope for item in items}, fresh)
    now = now_us()
    stored = chain_records(items, head, scope_keys, signer, now)
    await conn.execute(records_table.insert(), [record_values(r) for r in stored])
    checkpoint = checkpoint_for(
        head.seq, head_after(head, stored), signer, checkpoint_every, now, now=checkpoint_now
    )
    if checkpoint is not None:
        await conn.execute(checkpoints_table.insert(), checkpoint.to_dict())
    return stored, scope_keys, checkpoint


class CommitObserver(Protocol):
    """Told of each batch commit (metrics): how long it took, how many records, whether it held.
    Must not raise or block; what it is told holds no record content."""

    def __call__(self, *, duration_s: float, batch_size: int, ok: bool) -> None: ...


class ChainWriter(Protocol):
    """Writes one batch in one transaction under the append lock; returns after COMMIT."""

    async def write(self, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys) -> Written: ...

    async def close(self) -> None: ...


class EngineChainWriter:
    """The portable path: one pooled SQLAlchemy connection per batch (erasures use the same code)."""

    def __init__(
        self, engine: AsyncEngine, keys: DataKeys, signer: CheckpointSigner, checkpoint_every: int
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._signer = signer
        self._checkpoint_every = checkpoint_every

    async def write(self, items: Sequence[Pending], known: ScopeKeys, fresh: FreshKeys) -> Written:
        """See :class:`ChainWriter` (``known`` keys are re-read under the lock)."""
        async with self._engine.connect() as conn:
            await begin_locked(conn)
            written = await append_locked(
                conn,
                items,
                fresh,
                keys=self._keys,
                signer=self._signer,
                checkpoint_every=self._checkpoint_every,
            )
            await conn.commit()
        return written

    async def close(self) -> None:
        """Nothing is held between batches."""


def chain_writer_for(
    settings: AuditSettings, engine: AsyncEngine, keys: DataKeys, signer: CheckpointSigner
) -> ChainWriter:
    """The fastest append path the engine's database allows (measured in docs/benchmarks.md): a
    writer thread with its own connection for a SQLite file, one held asyncpg connection for
    PostgreSQL, otherwise a pooled SQLAlchemy connection per batch."""
    every = settings.checkpoint_every
    path = sqlite_file_of(engine.url)
    if engine.dialect.name == "sqlite" and path is not None:
        return SqliteChainWriter(path, settings.busy_timeout_ms, signer, every)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        from audit.pg_writer import PostgresChainWriter  # asyncpg only where it is used

        return PostgresChainWriter(engine, signer, every)
    return EngineChainWriter(engine, keys, signer, every)


class BatchWriter:
    """The group-commit writer task of one log, and what follows each commit."""

    def __init__(
        self,
        settings: AuditSettings,
        engine: AsyncEngine,
        keys: DataKeys,
        signer: CheckpointSigner,
        subjects: SubjectHasher,
        checkpoints: Checkpointer,
        witness: WitnessKeeper,
        stats: AuditStats,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._signer = signer
        self._subjects = subjects
        self._checkpoints = checkpoints
        self._witness = witness
        self._stats = stats
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._chain = chain_writer_for(settings, engine, keys, signer)
        #: Told of every batch commit (set by the log's owner; see :class:`CommitObserver`).
        self.on_commit: CommitObserver | None = None

    def __repr__(self) -> str:
        return f"BatchWriter(running={self.running})"

    @property
    def running(self) -> bool:
        """The writer task is started and has not ended."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the writer task (call from the event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")

    async def append(self, event: AuditEvent) -> AppendReceipt:
        """Queue ``event`` and wait for its commit (AuditUnavailable after ``append_timeout_s``)."""
        pending = prepare_event(event, self._subjects)
        self._queue.put_nowait(pending)
        try:
            async with asyncio.timeout(self._settings.append_timeout_s):
                return await asyncio.shield(pending.future)
        except TimeoutError:
            raise AuditUnavailable("audit store did not commit in time") from None

    async def stop(self) -> None:
        """Commit what is queued (within twice ``append_timeout_s``), then end the task; appends
        still queued after that fail with AuditUnavailable."""
        if self._task is not None and not self._task.done():
            self._queue.put_nowait(_STOP)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), self._settings.append_timeout_s * 2)
            if not self._task.done():
                self._task.cancel()
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Pending) and not item.future.done():
                item.future.set_exception(AuditUnavailable("audit log closed"))
        try:
            await self._chain.close()
        except Exception as exc:
            log.warning("audit.writer_close_failed", error=type(exc).__name__)

    async def committed(self, head: AppendReceipt, checkpoint: Checkpoint | None) -> None:
        """After a commit: the external checkpoint, and the head witness (newest head wins)."""
        await self._checkpoints.committed(checkpoint)
        self._witness.advance(head.seq, head.hash)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=self._checkpoints.due_in())
            except TimeoutError:
                await self._checkpoints.checkpoint_safely()
                continue
            if first is _STOP:
                break
            batch: list[Pending] = [first]
            while len(batch) < self._settings.batch_max:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)
            if self._checkpoints.is_due():
                await self._checkpoints.checkpoint_safely()

    def _observe(self, started: float, batch_size: int, ok: bool) -> None:
        if self.on_commit is None:
            return
        try:
            self.on_commit(duration_s=time.perf_counter() - started, batch_size=batch_size, ok=ok)
        except Exception as exc:  # an observer must never fail a commit
            log.warning("audit.commit_observer_failed", error=type(exc).__name__)

    async def _commit(self, batch: list[Pending]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings.append_timeout_s):
                receipts, checkpoint = await self._write_batch_retrying(batch)
        except Exception as exc:
            self._observe(started, len(batch), False)
            self._stats.failed_batches += 1
            log.error("audit.append_failed", error=type(exc).__name__, batch=len(batch))
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(AuditUnavailable("audit store cannot write"))
            return
        self._observe(started, len(batch), True)
        self._stats.transactions += 1
        self._stats.appended += len(batch)
        self._stats.max_batch = max(self._stats.max_batch, len(batch))
        self._checkpoints.mark_dirty()
        for item, receipt in zip(batch, receipts, strict=True):
            if not item.future.done():
                item.future.set_result(receipt)
        await self.committed(receipts[-1], checkpoint)

    async def _write_batch_retrying(
        self, batch: list[Pending]
    ) -> tuple[list[AppendReceipt], Checkpoint | None]:
        """``_write_batch``, tried again after a lock conflict (another writer holding the SQLite
        file past its busy timeout, a PostgreSQL serialization failure) or keys changed by another
        process, until the caller's deadline."""
        attempt = 0
        while True:
            try:
                return await self._write_batch(batch)
            except StaleKeys as exc:
                self._keys.forget((), exc.scopes)
                delay = 0.0
            except Exception as exc:
                if not (is_transient_db_error(exc) or is_transient_driver_error(exc)):
                    raise
                delay = backoff(attempt + 1)
            attempt += 1
            self._stats.retried_batches += 1
            log.warning("audit.append_retry", attempt=attempt, batch=len(batch))
            await asyncio.sleep(delay)

    async def _write_batch(self, batch: list[Pending]) -> tuple[list[AppendReceipt], Checkpoint | None]:
        known, fresh = await self._keys.resolve({item.scope for item in batch})
        stored, keys, checkpoint = await self._chain.write(batch, known, fresh)
        self._keys.remember(keys)
        return [receipt_of(r) for r in stored], checkpoint
