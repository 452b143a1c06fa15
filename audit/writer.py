"""The writer: appends, group-committed.

One writer task per process drains a queue of pending events and commits them in one transaction
per batch (group commit). Inside that transaction, under a lock that serializes every appender
across processes (PostgreSQL ``pg_advisory_xact_lock``; SQLite ``BEGIN IMMEDIATE``), it reads the
head (max seq and its hash), assigns the next seqs, encrypts each payload with the header as
associated data, chains the hashes and inserts (:func:`append_locked`, which erasures use too). A
batch that meets a lock conflict is tried again until the deadline. ``append`` returns only after
COMMIT; any failure to commit surfaces as :class:`AuditUnavailable` (fail closed), within
``append_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import crypto
from audit.checkpoints import Checkpointer
from audit.database import is_transient_db_error
from audit.datakeys import DataKeys, FreshKeys, ScopeKeys
from audit.erasure import ErasureDeclaration
from audit.errors import AuditError, AuditUnavailable
from audit.keyring import SubjectHasher
from audit.records import (
    AuditEvent,
    StoredRecord,
    ciphertext_digest,
    encode_counts,
    header_fields,
    record_aad,
    record_hash,
    time_from_us,
)
from audit.rows import begin_locked, now_us, read_chain_head
from audit.schema import checkpoints as checkpoints_table
from audit.schema import records as records_table
from audit.settings import AuditSettings, AuditStats
from audit.signing import Checkpoint, CheckpointSigner
from audit.witness import WitnessKeeper

log = structlog.get_logger("audit.writer")

_FIELD_LIMITS = {
    "kind": 64,
    "tenant": 128,
    "principal": 256,
    "role": 256,
    "model": 256,
    "request_id": 128,
    "decision": 32,
}


@dataclass(frozen=True)
class AppendReceipt:
    """The committed record: its seq, hash and time."""

    seq: int
    hash: str
    time: datetime


@dataclass
class Pending:
    """An event validated and encoded, waiting for its seq."""

    values: dict[str, Any]
    scope: str
    plaintext: bytes = field(repr=False)
    future: asyncio.Future[AppendReceipt] = field(repr=False)
    erasure: ErasureDeclaration | None = None  # signed once the record's seq is known


_STOP = object()


def day_scope() -> str:
    """The scope of the data key for today's records without a subject."""
    return "d:" + datetime.now(UTC).strftime("%Y-%m-%d")


def backoff(attempt: int) -> float:
    """Seconds to wait before trying a conflicting transaction again."""
    return min(0.02 * 2.0**attempt, 0.5)


def receipt_of(record: StoredRecord) -> AppendReceipt:
    """The receipt of a stored record."""
    return AppendReceipt(record.seq, record.hash, time_from_us(record.ts_us))


def prepare_event(
    event: AuditEvent,
    subjects: SubjectHasher,
    *,
    subject_ref: str | None = None,
    erasure: ErasureDeclaration | None = None,
) -> Pending:
    """Validate and encode ``event`` (raises AuditError naming the field, never its value).

    An erasure record passes the erased subject's ref itself (the subject id is not known) and is
    sealed under the day key, never under a subject key that a later erasure would delete."""
    for name, limit in _FIELD_LIMITS.items():
        value = getattr(event, name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise AuditError(f"audit field '{name}' must be a string of at most {limit} characters")
    try:
        counts = encode_counts(event.entity_counts) or "{}"
        usage = encode_counts(event.usage)
    except TypeError:
        raise AuditError("entity_counts and usage must map names to integers") from None
    if event.subject_id is not None:
        subject_ref = subjects.ref(event.subject_id)
    scope = f"s:{subject_ref}" if subject_ref and erasure is None else day_scope()
    values = {
        "kind": event.kind,
        "tenant": event.tenant,
        "principal": event.principal,
        "role": event.role,
        "model": event.model,
        "request_id": event.request_id,
        "subject_ref": subject_ref,
        "decision": event.decision,
        "entity_counts": counts,
        "usage": usage,
        "latency_us": round(event.latency_ms * 1000) if event.latency_ms is not None else None,
    }
    plaintext = crypto.encode_payload(dict(event.payload) if event.payload is not None else None)
    return Pending(values, scope, plaintext, asyncio.get_running_loop().create_future(), erasure)


def _record_values(record: StoredRecord) -> dict[str, Any]:
    return {
        **header_fields(record),
        "erases": record.erases,
        "ciphertext": record.ciphertext,
        "hash": record.hash,
    }


async def append_locked(
    conn: AsyncConnection,
    items: Sequence[Pending],
    fresh: FreshKeys,
    *,
    keys: DataKeys,
    signer: CheckpointSigner,
    checkpoint_every: int,
    checkpoint_now: bool = False,
) -> tuple[list[StoredRecord], ScopeKeys, Checkpoint | None]:
    """Chain ``items`` onto the head and insert them, inside the caller's locked transaction
    (the caller commits). Every append goes through here: batches and erasure records.

    Returns the stored records, the data keys used (scope -> key id, key) and the checkpoint
    written, if any: every ``checkpoint_every`` records, or at once with ``checkpoint_now``.
    """
    seq, prev_hash, prev_ts = await read_chain_head(conn)
    start_seq = seq
    scope_keys = await keys.for_scopes_locked(conn, {item.scope for item in items}, fresh)
    now = now_us()
    stored: list[StoredRecord] = []
    for item in items:
        seq += 1
        prev_ts = max(now, prev_ts)
        key_id, dek = scope_keys[item.scope]
        erases = item.erasure.signed(signer, seq, prev_hash).to_text() if item.erasure is not None else None
        draft = StoredRecord(
            seq=seq,
            ts_us=prev_ts,
            key_id=key_id,
            ciphertext=None,
            ciphertext_hash="",
            prev_hash=prev_hash,
            hash="",
            erases=erases,
            **item.values,
        )
        ciphertext = crypto.seal(dek, item.plaintext, record_aad(draft))
        draft = replace(draft, ciphertext=ciphertext, ciphertext_hash=ciphertext_digest(ciphertext))
        record = replace(draft, hash=record_hash(draft))
        stored.append(record)
        prev_hash = record.hash
    await conn.execute(records_table.insert(), [_record_values(r) for r in stored])
    checkpoint = None
    every = max(1, checkpoint_every)
    if checkpoint_now or start_seq // every != seq // every:
        checkpoint = signer.checkpoint(seq, prev_hash, now_us())
        await conn.execute(checkpoints_table.insert(), checkpoint.to_dict())
    return stored, scope_keys, checkpoint


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

    async def _commit(self, batch: list[Pending]) -> None:
        try:
            async with asyncio.timeout(self._settings.append_timeout_s):
                receipts, checkpoint = await self._write_batch_retrying(batch)
        except Exception as exc:
            self._stats.failed_batches += 1
            log.error("audit.append_failed", error=type(exc).__name__, batch=len(batch))
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(AuditUnavailable("audit store cannot write"))
            return
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
        file past its busy timeout, a PostgreSQL serialization failure), until the caller's deadline."""
        attempt = 0
        while True:
            try:
                return await self._write_batch(batch)
            except Exception as exc:
                if not is_transient_db_error(exc):
                    raise
                attempt += 1
                self._stats.retried_batches += 1
                log.warning("audit.append_retry", error=type(exc).__name__, attempt=attempt, batch=len(batch))
                await asyncio.sleep(backoff(attempt))

    async def _write_batch(self, batch: list[Pending]) -> tuple[list[AppendReceipt], Checkpoint | None]:
        fresh = await self._keys.prefetch({item.scope for item in batch})
        async with self._engine.connect() as conn:
            await begin_locked(conn)
            stored, keys, checkpoint = await append_locked(
                conn,
                batch,
                fresh,
                keys=self._keys,
                signer=self._signer,
                checkpoint_every=self._settings.checkpoint_every,
            )
            await conn.commit()
        self._keys.remember(keys)
        return [receipt_of(r) for r in stored], checkpoint
