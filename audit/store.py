"""The audit log: durable, group-committed appends; auditor queries; online verification.

One writer task per process drains a queue of pending events and commits them in one transaction
per batch (group commit). Inside that transaction, under a lock that serializes every appender
across processes (PostgreSQL ``pg_advisory_xact_lock``; SQLite ``BEGIN IMMEDIATE``), it reads the
head (max seq and its hash), assigns the next seqs, encrypts each payload with the header as
associated data, chains the hashes and inserts. ``append`` returns only after COMMIT; any failure
to commit surfaces as :class:`AuditUnavailable` (fail closed), within ``append_timeout_s``.

Erasures (:meth:`AuditLog.erase`, :meth:`AuditLog.shred_subject`) delete data keys and ciphertext
and append their erasure record (:mod:`audit.erasure`) in one transaction under the same lock,
through the same chaining code as the appends.

Readers decode every row strictly: a column of the wrong type (possible in SQLite, whose columns
are not typed) is reported as tampering at that record, never raised as a read failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import and_, delete, event, func, or_, select, text, true, type_coerce, update
from sqlalchemy.engine import URL, Row, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from audit import crypto
from audit.checkpoints import (
    HeadWitnessFile,
    append_checkpoint,
    head_witness_path,
    read_checkpoints,
    read_head,
)
from audit.erasure import ERASURE_KIND, ErasureDeclaration, InvalidDeclaration
from audit.errors import AuditError, AuditIntegrityError, AuditUnavailable, KeyUnavailable
from audit.keyring import (
    SUBJECT_KEY_FILE,
    DekCache,
    KeyProvider,
    LocalKeyFileProvider,
    SubjectHasher,
    WrappedKey,
    dek_context,
    ensure_private_dir,
    load_or_create_secret,
)
from audit.migrations import migrate
from audit.records import (
    GENESIS_HASH,
    AuditEvent,
    DamagedRow,
    RecordHeader,
    RecordView,
    StoredRecord,
    ciphertext_digest,
    decode_row,
    encode_counts,
    header_fields,
    record_aad,
    record_hash,
    time_from_us,
    to_header,
    us_from_time,
)
from audit.schema import checkpoints as checkpoints_table
from audit.schema import deks as deks_table
from audit.schema import records as records_table
from audit.signing import Checkpoint, CheckpointSigner
from audit.verify import ChainVerifier, VerifyReport

if TYPE_CHECKING:
    from audit.export import ExportSummary

log = structlog.get_logger("audit.store")

# Serializes appenders across every process sharing one PostgreSQL database.
APPEND_LOCK_ID = 0x6175_6469_7461_7070
_PAGE = 2000
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
class AuditSettings:
    """Where the log lives and how it checkpoints. ``key_provider`` replaces the local KEK files."""

    url: str
    key_dir: Path
    checkpoint_file: Path
    checkpoint_every: int = 100
    checkpoint_interval_s: float = 30.0
    batch_max: int = 256
    append_timeout_s: float = 10.0
    busy_timeout_ms: int = 5000
    verify_content: bool = True  # verify() also authenticates every ciphertext with its data key
    dek_cache_entries: int = 4096
    key_provider: KeyProvider | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class AppendReceipt:
    seq: int
    hash: str
    time: datetime


@dataclass(frozen=True)
class RecordFilter:
    """Auditor query filters; all given ones must match. ``since`` inclusive, ``until`` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    role: str | None = None
    model: str | None = None
    kind: str | None = None
    decision: str | None = None
    subject_ref: str | None = None
    request_id: str | None = None
    tenant: str | None = None
    newest_first: bool = False


@dataclass(frozen=True)
class RecordPage:
    items: list[RecordHeader]
    next_cursor: str | None


@dataclass(frozen=True)
class ErasureSummary:
    """What an erasure removed, and its erasure record (``seq``, ``hash``)."""

    seq: int
    hash: str
    records_erased: int
    keys_deleted: int
    key_ids: tuple[str, ...]
    seq_ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ShredSummary:
    subject_ref: str
    records_erased: int
    keys_deleted: int
    erasure_seq: int  # the erasure record that declares it


@dataclass
class AuditStats:
    """Counters of this process's writer (the group-commit test and the benchmark read them)."""

    appended: int = 0
    transactions: int = 0
    max_batch: int = 0
    checkpoints: int = 0
    failed_batches: int = 0
    retried_batches: int = 0
    external_failures: int = 0
    witness_failures: int = 0


class InvalidCursor(AuditError, ValueError):
    """The pagination cursor was not produced by this log."""


@dataclass
class _Pending:
    values: dict[str, Any]
    scope: str
    plaintext: bytes = field(repr=False)
    future: asyncio.Future[AppendReceipt] = field(repr=False)
    erasure: ErasureDeclaration | None = None  # signed once the record's seq is known


_STOP = object()


def _now_us() -> int:
    return time.time_ns() // 1000


def _day_scope() -> str:
    return "d:" + datetime.now(UTC).strftime("%Y-%m-%d")


def _backoff(attempt: int) -> float:
    return min(0.02 * 2.0**attempt, 0.5)


def _receipt(record: StoredRecord) -> AppendReceipt:
    return AppendReceipt(record.seq, record.hash, time_from_us(record.ts_us))


# Rows are read without SQLAlchemy's type processing, so that a value of the wrong type (SQLite
# does not enforce column types) reaches decode_row instead of failing the whole result.
_RAW_RECORD = [type_coerce(column, NullType()).label(column.name) for column in records_table.c]


def _select_records() -> Any:
    return select(*_RAW_RECORD).select_from(records_table)


def _integer_seq(dialect_name: str) -> ColumnElement[bool]:
    """Rows whose seq is an integer. A SQLite row whose seq was set to text sorts after every
    integer and is not any seq at all: readers skip it and verify reports the seq it left missing."""
    if dialect_name == "sqlite":
        return func.typeof(records_table.c.seq) == "integer"
    return true()


def _record_values(record: StoredRecord) -> dict[str, Any]:
    return {
        **header_fields(record),
        "erases": record.erases,
        "ciphertext": record.ciphertext,
        "hash": record.hash,
    }


def _header_of(item: StoredRecord | DamagedRow) -> RecordHeader:
    return item.header if isinstance(item, DamagedRow) else to_header(item)


async def _count_non_integer_seqs(conn: AsyncConnection) -> int:
    if conn.dialect.name != "sqlite":
        return 0
    r = records_table.c
    return int((await conn.execute(select(func.count()).where(func.typeof(r.seq) != "integer"))).scalar_one())


def _checkpoint_from_row(row: Row[Any]) -> Checkpoint:
    m = row._mapping
    return Checkpoint(
        seq=m["seq"], head_hash=m["head_hash"], ts_us=m["ts_us"], key_id=m["key_id"], signature=m["signature"]
    )


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"a1:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "a1":
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("invalid cursor") from None


def prepare_sqlite_file(path: Path) -> None:
    """Create the SQLite database file readable by this user only (0600), or make it so.

    Call before the first connection: SQLite creates ``-wal`` and ``-shm`` with the database
    file's mode, so they are 0600 too (existing ones are set to 0600 here as well).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


def prepare_sqlite_database(url: str | URL) -> Path | None:
    """:func:`prepare_sqlite_file` for a SQLAlchemy URL naming a SQLite file; returns its path.

    Other databases and in-memory SQLite: nothing to do, None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return None  # a SQLite URI: its own options decide
    path = Path(parsed.database)
    prepare_sqlite_file(path)
    return path


def create_audit_engine(settings: AuditSettings) -> AsyncEngine:
    """An engine for the log's own use: SQLite gets WAL, synchronous=FULL and a busy timeout, and
    its files are created 0600."""
    url = make_url(settings.url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    prepare_sqlite_database(url)
    engine = create_async_engine(url)
    busy = int(settings.busy_timeout_ms)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy}")
        cursor.close()

    return engine


async def begin_locked(conn: AsyncConnection) -> None:
    """Start the serialized write transaction on ``conn`` (the append lock, held until commit)."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": APPEND_LOCK_ID})
    else:
        raise AuditError(f"unsupported database dialect {conn.dialect.name}")


# PostgreSQL: serialization failure, deadlock, lock not available. SQLite: SQLITE_BUSY, SQLITE_LOCKED.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_TRANSIENT_SQLITE_CODES = frozenset({5, 6})


def is_transient_db_error(exc: BaseException) -> bool:
    """A lock conflict: nothing was committed, and the same transaction may succeed when tried again.

    A lost connection is not retried: it may have dropped after the COMMIT reached the server,
    and appending the batch again would record it twice (with a valid chain)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _TRANSIENT_SQLSTATES:
        return True
    if getattr(orig, "sqlite_errorcode", None) in _TRANSIENT_SQLITE_CODES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


async def _read_head_seq(conn: AsyncConnection) -> int:
    r = records_table.c
    value = (await conn.execute(select(func.max(r.seq)).where(_integer_seq(conn.dialect.name)))).scalar()
    return 0 if value is None else int(value)


async def _read_head(conn: AsyncConnection) -> tuple[int, str, int]:
    """Seq, hash and time of the newest record. A head row whose hash or time does not decode does
    not stop the log: the next record chains on what is there, and verify reports the damaged row."""
    r = records_table.c
    row = (
        await conn.execute(
            select(r.seq, type_coerce(r.hash, NullType()), type_coerce(r.ts_us, NullType()))
            .where(_integer_seq(conn.dialect.name))
            .order_by(r.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return 0, GENESIS_HASH, 0
    seq, head_hash, ts_us = row
    return (
        int(seq),
        head_hash if isinstance(head_hash, str) else "",
        ts_us if isinstance(ts_us, int) and not isinstance(ts_us, bool) else 0,
    )


class _Lru:
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def get(self, key: str) -> str | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def discard(self, key: str) -> None:
        self._items.pop(key, None)


class AuditLog:
    """The encrypted, hash-chained audit log. Build with :meth:`open`; end with :meth:`close`."""

    def __init__(
        self,
        settings: AuditSettings,
        engine: AsyncEngine,
        owns_engine: bool,
        provider: KeyProvider,
        signer: CheckpointSigner,
        subjects: SubjectHasher,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._owns_engine = owns_engine
        self.provider = provider
        self.signer = signer
        self._subjects = subjects
        self._deks = DekCache(settings.dek_cache_entries)
        self._scopes = _Lru(settings.dek_cache_entries)
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        # The newest committed head not yet in the head witness file, and the task that writes it.
        self._unwitnessed: AppendReceipt | None = None
        self._witness_wakeup = asyncio.Event()
        self._witness: asyncio.Task[None] | None = None
        self._witness_file = HeadWitnessFile(head_witness_path(settings.checkpoint_file))
        self._closed = False
        self._dirty = False
        self._last_checkpoint_at = time.monotonic()
        self._last_external_seq = 0
        self._external_lock = asyncio.Lock()
        self.stats = AuditStats()

    def __repr__(self) -> str:
        return f"AuditLog(dialect={self.engine.dialect.name!r}, closed={self._closed})"

    @classmethod
    async def open(cls, settings: AuditSettings, engine: AsyncEngine | None = None) -> AuditLog:
        """Migrate the tables, load or create the key ring (0600 files in a 0700 directory), start the writer.

        The gateway may pass its shared engine (it keeps ownership); otherwise one is built from
        ``settings.url`` and disposed on :meth:`close`.
        """
        ensure_private_dir(settings.key_dir)
        provider = settings.key_provider or LocalKeyFileProvider(settings.key_dir)
        signer = CheckpointSigner.load_or_create(settings.key_dir)
        subjects = SubjectHasher(load_or_create_secret(settings.key_dir / SUBJECT_KEY_FILE))
        owns = engine is None
        db = engine if engine is not None else create_audit_engine(settings)
        try:
            await migrate(db)
        except Exception as exc:
            if owns:
                await db.dispose()
            log.error("audit.open_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot be opened") from None
        self = cls(settings, db, owns, provider, signer, subjects)
        external = await asyncio.to_thread(read_checkpoints, settings.checkpoint_file)
        self._last_external_seq = max((cp.seq for cp in external.checkpoints), default=0)
        self._writer = asyncio.get_running_loop().create_task(self._run_writer(), name="audit-writer")
        self._witness = asyncio.get_running_loop().create_task(self._run_witness(), name="audit-witness")
        return self

    def subject_ref(self, subject_id: str) -> str:
        """Keyed HMAC of a data-subject id: what the log stores and what auditors filter by."""
        return self._subjects.ref(subject_id)

    # ---- append -------------------------------------------------------------------------------

    def _prepare(
        self,
        event: AuditEvent,
        *,
        subject_ref: str | None = None,
        erasure: ErasureDeclaration | None = None,
    ) -> _Pending:
        """Validate and encode ``event``. An erasure record passes the erased subject's ref itself
        (the subject id is not known) and is sealed under the day key, never under a subject key
        that a later erasure would delete."""
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
            subject_ref = self.subject_ref(event.subject_id)
        scope = f"s:{subject_ref}" if subject_ref and erasure is None else _day_scope()
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
        return _Pending(values, scope, plaintext, asyncio.get_running_loop().create_future(), erasure)

    async def append(self, event: AuditEvent) -> AppendReceipt:
        """Record ``event``; returns (seq, hash) only after the record is committed.

        Raises AuditUnavailable if the store cannot commit within ``append_timeout_s``.
        """
        if self._closed or self._writer is None or self._writer.done():
            raise AuditUnavailable("audit log is not running")
        pending = self._prepare(event)
        self._queue.put_nowait(pending)
        try:
            async with asyncio.timeout(self.settings.append_timeout_s):
                return await asyncio.shield(pending.future)
        except TimeoutError:
            raise AuditUnavailable("audit store did not commit in time") from None

    async def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            wait = max(0.0, self._last_checkpoint_at + self.settings.checkpoint_interval_s - time.monotonic())
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=wait if self._dirty else None)
            except TimeoutError:
                await self._safe_checkpoint()
                continue
            if first is _STOP:
                break
            batch: list[_Pending] = [first]
            while len(batch) < self.settings.batch_max:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)
            if (
                self._dirty
                and time.monotonic() - self._last_checkpoint_at >= self.settings.checkpoint_interval_s
            ):
                await self._safe_checkpoint()

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            async with asyncio.timeout(self.settings.append_timeout_s):
                receipts, checkpoint = await self._write_batch_retrying(batch)
        except Exception as exc:
            self.stats.failed_batches += 1
            log.error("audit.append_failed", error=type(exc).__name__, batch=len(batch))
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(AuditUnavailable("audit store cannot write"))
            return
        self.stats.transactions += 1
        self.stats.appended += len(batch)
        self.stats.max_batch = max(self.stats.max_batch, len(batch))
        self._dirty = True
        for item, receipt in zip(batch, receipts, strict=True):
            if not item.future.done():
                item.future.set_result(receipt)
        await self._committed(receipts[-1], checkpoint)

    async def _committed(self, head: AppendReceipt, checkpoint: Checkpoint | None) -> None:
        """After a commit: the external checkpoint, and the head witness (newest head wins)."""
        if checkpoint is not None:
            self._checkpointed()
            await self._write_external(checkpoint)
        if self._unwitnessed is None or head.seq > self._unwitnessed.seq:
            self._unwitnessed = head
        self._witness_wakeup.set()

    async def _write_batch_retrying(
        self, batch: list[_Pending]
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
                self.stats.retried_batches += 1
                log.warning("audit.append_retry", error=type(exc).__name__, attempt=attempt, batch=len(batch))
                await asyncio.sleep(_backoff(attempt))

    async def _dek_for_row(self, key_id: str, scope: str, kek_version: int, wrapped: bytes) -> bytes:
        dek = self._deks.get(key_id)
        if dek is None:
            dek = await self.provider.unwrap(
                WrappedKey(int(kek_version), bytes(wrapped)), dek_context(key_id, scope)
            )
            self._deks.put(key_id, dek)
        return dek

    async def _prefetch_deks(self, scopes: set[str]) -> dict[str, tuple[str, bytes, WrappedKey]]:
        """Before taking the lock: unwrap known data keys, wrap new ones (KMS calls stay outside the lock)."""
        unknown = {s for s in scopes if (k := self._scopes.get(s)) is None or self._deks.get(k) is None}
        if not unknown:
            return {}
        d = deks_table.c
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(d.key_id, d.scope, d.kek_version, d.wrapped).where(d.scope.in_(sorted(unknown)))
                )
            ).all()
        for key_id, scope, version, wrapped in rows:
            await self._dek_for_row(key_id, scope, version, wrapped)
            self._scopes.put(scope, key_id)
            unknown.discard(scope)
        fresh: dict[str, tuple[str, bytes, WrappedKey]] = {}
        for scope in unknown:
            key_id = uuid.uuid4().hex
            dek = crypto.new_key()
            fresh[scope] = (key_id, dek, await self.provider.wrap(dek, dek_context(key_id, scope)))
        return fresh

    async def _write_batch(self, batch: list[_Pending]) -> tuple[list[AppendReceipt], Checkpoint | None]:
        fresh = await self._prefetch_deks({item.scope for item in batch})
        async with self.engine.connect() as conn:
            await begin_locked(conn)
            stored, keys, checkpoint = await self._append_locked(conn, batch, fresh)
            await conn.commit()
        self._cache_keys(keys)
        return [_receipt(r) for r in stored], checkpoint

    def _cache_keys(self, keys: dict[str, tuple[str, bytes]]) -> None:
        for scope, (key_id, dek) in keys.items():
            self._scopes.put(scope, key_id)
            self._deks.put(key_id, dek)

    async def _append_locked(
        self,
        conn: AsyncConnection,
        items: Sequence[_Pending],
        fresh: dict[str, tuple[str, bytes, WrappedKey]],
        *,
        checkpoint_now: bool = False,
    ) -> tuple[list[StoredRecord], dict[str, tuple[str, bytes]], Checkpoint | None]:
        """Chain ``items`` onto the head and insert them, inside the caller's locked transaction
        (the caller commits). Every append goes through here: batches and erasure records.

        Returns the stored records, the data keys used (scope -> key id, key) and the checkpoint
        written, if any: every ``checkpoint_every`` records, or at once with ``checkpoint_now``.
        """
        scopes = {item.scope for item in items}
        d = deks_table.c
        seq, prev_hash, prev_ts = await _read_head(conn)
        start_seq = seq
        # Re-read under the lock: another process may have created or shredded a key meanwhile.
        rows = (
            await conn.execute(
                select(d.key_id, d.scope, d.kek_version, d.wrapped).where(d.scope.in_(sorted(scopes)))
            )
        ).all()
        keys: dict[str, tuple[str, bytes]] = {}
        for key_id, scope, version, wrapped in rows:
            keys[scope] = (key_id, await self._dek_for_row(key_id, scope, version, wrapped))
        now = _now_us()
        new_keys = []
        for scope in scopes - keys.keys():
            if scope in fresh:
                key_id, dek, wrapped_key = fresh[scope]
            else:
                key_id, dek = uuid.uuid4().hex, crypto.new_key()
                wrapped_key = await self.provider.wrap(dek, dek_context(key_id, scope))
            new_keys.append(
                {
                    "key_id": key_id,
                    "scope": scope,
                    "kek_version": wrapped_key.version,
                    "wrapped": wrapped_key.blob,
                    "created_us": now,
                }
            )
            keys[scope] = (key_id, dek)
        if new_keys:
            await conn.execute(deks_table.insert(), new_keys)
        stored: list[StoredRecord] = []
        for item in items:
            seq += 1
            prev_ts = max(now, prev_ts)
            key_id, dek = keys[item.scope]
            erases = (
                item.erasure.signed(self.signer, seq, prev_hash).to_text()
                if item.erasure is not None
                else None
            )
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
        every = max(1, self.settings.checkpoint_every)
        if checkpoint_now or start_seq // every != seq // every:
            checkpoint = self.signer.checkpoint(seq, prev_hash, _now_us())
            await conn.execute(checkpoints_table.insert(), checkpoint.to_dict())
        return stored, keys, checkpoint

    # ---- checkpoints --------------------------------------------------------------------------

    def _checkpointed(self) -> None:
        self._dirty = False
        self._last_checkpoint_at = time.monotonic()
        self.stats.checkpoints += 1

    async def _safe_checkpoint(self) -> None:
        try:
            await self.checkpoint()
        except AuditError as exc:
            log.error("audit.checkpoint_failed", error=type(exc).__name__)
            self._last_checkpoint_at = time.monotonic()

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (stored in the database and appended to the external file).

        Returns None for an empty log; the existing checkpoint if the head already has one.
        """
        try:
            async with self.engine.connect() as conn:
                await begin_locked(conn)
                seq, head_hash, _ = await _read_head(conn)
                if seq == 0:
                    await conn.rollback()
                    return None
                c = checkpoints_table.c
                row = (await conn.execute(select(checkpoints_table).where(c.seq == seq))).first()
                if row is not None:
                    checkpoint = _checkpoint_from_row(row)
                    await conn.rollback()
                else:
                    checkpoint = self.signer.checkpoint(seq, head_hash, _now_us())
                    await conn.execute(checkpoints_table.insert(), checkpoint.to_dict())
                    await conn.commit()
        except AuditError:
            raise
        except Exception as exc:
            log.error("audit.checkpoint_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot write a checkpoint") from None
        self._checkpointed()
        await self._write_external(checkpoint)
        return checkpoint

    async def _run_witness(self) -> None:
        """Keep the head witness file on the newest committed head, beside the writer (not on the
        path of the appends, nor of the next batch); heads committed meanwhile are coalesced."""
        while True:
            await self._witness_wakeup.wait()
            await self._flush_witness()

    async def _flush_witness(self) -> None:
        self._witness_wakeup.clear()
        receipt, self._unwitnessed = self._unwitnessed, None
        if receipt is not None:
            await self._witness_head(receipt)

    async def _witness_head(self, receipt: AppendReceipt) -> None:
        """Sign ``receipt``'s head into the head witness file."""

        def sign_and_write() -> None:
            self._witness_file.write(self.signer.checkpoint(receipt.seq, receipt.hash, _now_us()))

        try:
            await asyncio.to_thread(sign_and_write)
        except OSError as exc:
            self.stats.witness_failures += 1
            log.error("audit.head_witness_failed", error=type(exc).__name__, seq=receipt.seq)
            return
        self.stats.witness_failures = 0

    async def _write_external(self, checkpoint: Checkpoint) -> None:
        async with self._external_lock:
            if checkpoint.seq <= self._last_external_seq:
                return
            try:
                await asyncio.to_thread(append_checkpoint, self.settings.checkpoint_file, checkpoint)
            except OSError as exc:
                self.stats.external_failures += 1
                log.error("audit.external_checkpoint_failed", error=type(exc).__name__, seq=checkpoint.seq)
                return
            self._last_external_seq = checkpoint.seq
            self.stats.external_failures = 0

    # ---- reading ------------------------------------------------------------------------------

    async def query(self, filters: RecordFilter, cursor: str | None = None, limit: int = 100) -> RecordPage:
        """Record headers (never content) matching ``filters``, in seq order, ``limit`` per page."""
        r = records_table.c
        conditions = [
            getattr(r, name) == getattr(filters, name)
            for name in (
                "principal",
                "role",
                "model",
                "kind",
                "decision",
                "subject_ref",
                "request_id",
                "tenant",
            )
            if getattr(filters, name) is not None
        ]
        if filters.since is not None:
            conditions.append(r.ts_us >= us_from_time(filters.since))
        if filters.until is not None:
            conditions.append(r.ts_us < us_from_time(filters.until))
        if cursor:
            after = _decode_cursor(cursor)
            conditions.append(r.seq < after if filters.newest_first else r.seq > after)
        limit = max(1, limit)
        conditions.append(_integer_seq(self.engine.dialect.name))
        stmt = _select_records().where(and_(True, *conditions))
        stmt = stmt.order_by(r.seq.desc() if filters.newest_first else r.seq).limit(limit + 1)
        rows = await self._read(stmt)
        items = [_header_of(decode_row(row._mapping)) for row in rows[:limit]]
        next_cursor = _encode_cursor(items[-1].seq) if len(rows) > limit else None
        return RecordPage(items=items, next_cursor=next_cursor)

    async def _read(self, stmt: Any) -> Sequence[Row[Any]]:
        try:
            async with self.engine.connect() as conn:
                return (await conn.execute(stmt)).all()
        except Exception as exc:
            log.error("audit.read_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot be read") from None

    async def _load_dek(self, conn: AsyncConnection, key_id: str) -> bytes | None:
        dek = self._deks.get(key_id)
        if dek is not None:
            return dek
        d = deks_table.c
        row = (
            await conn.execute(select(d.scope, d.kek_version, d.wrapped).where(d.key_id == key_id))
        ).first()
        if row is None:
            return None
        try:
            return await self._dek_for_row(key_id, row[0], row[1], row[2])
        except KeyUnavailable:
            return None

    async def get(self, seq: int, with_content: bool = False) -> RecordView | None:
        """One record by seq; with its decrypted payload when asked for and still available.

        A row that does not decode comes back with ``header.integrity_error`` set and, when content
        is asked for, ``content_status="integrity_error"``."""
        rows = await self._read(
            _select_records().where(records_table.c.seq == seq, _integer_seq(self.engine.dialect.name))
        )
        if not rows:
            return None
        record = decode_row(rows[0]._mapping)
        if isinstance(record, DamagedRow):
            status = "integrity_error" if with_content else "not_requested"
            return RecordView(header=record.header, content_status=status)
        header = to_header(record)
        if not with_content:
            return RecordView(header=header, content_status="not_requested")
        if record.ciphertext is None:
            return RecordView(header=header, content_status="erased")
        async with self.engine.connect() as conn:
            dek = await self._load_dek(conn, record.key_id)
        if dek is None:
            return RecordView(header=header, content_status="key_unavailable")
        try:
            plaintext = crypto.open_sealed(dek, record.ciphertext, record_aad(record))
        except AuditIntegrityError:
            return RecordView(header=header, content_status="integrity_error")
        return RecordView(
            header=header,
            content=crypto.decode_payload(plaintext),
            content_included=True,
            content_status="ok",
        )

    async def decrypt_records(self, records: Sequence[StoredRecord]) -> dict[int, Any]:
        """Decrypted payloads by seq for the records whose key and ciphertext are available and intact."""
        out: dict[int, Any] = {}
        async with self.engine.connect() as conn:
            for record in records:
                if record.ciphertext is None:
                    continue
                dek = await self._load_dek(conn, record.key_id)
                if dek is None:
                    continue
                with contextlib.suppress(AuditIntegrityError):
                    out[record.seq] = crypto.decode_payload(
                        crypto.open_sealed(dek, record.ciphertext, record_aad(record))
                    )
        return out

    async def _authenticate(self, conn: AsyncConnection, records: Sequence[StoredRecord]) -> dict[int, bool]:
        result: dict[int, bool] = {}
        for record in records:
            if record.ciphertext is None:
                continue
            dek = await self._load_dek(conn, record.key_id)
            if dek is None:
                continue
            try:
                crypto.open_sealed(dek, record.ciphertext, record_aad(record))
                result[record.seq] = True
            except AuditIntegrityError:
                result[record.seq] = False
        return result

    async def verify(self) -> VerifyReport:
        """Check the whole chain, its signed checkpoints (in the database and in the external file)
        and, with ``verify_content``, that every ciphertext authenticates against its header.

        Safe while writers run: checkpoints are read before the head, so each one is covered.
        """
        external = await asyncio.to_thread(read_checkpoints, self.settings.checkpoint_file)
        witness = await asyncio.to_thread(read_head, head_witness_path(self.settings.checkpoint_file))
        try:
            async with self.engine.connect() as conn:
                db_checkpoints = [
                    _checkpoint_from_row(row) for row in (await conn.execute(select(checkpoints_table))).all()
                ]
                head = await _read_head_seq(conn)
                every = [*db_checkpoints, *external.checkpoints]
                if witness.checkpoint is not None:
                    every.append(witness.checkpoint)
                verifier = ChainVerifier(
                    self.signer.verifier, checkpoint_seqs=frozenset(cp.seq for cp in every)
                )
                for line in external.malformed_lines:
                    verifier.problem(f"external checkpoint file line {line} is malformed")
                if witness.malformed:
                    verifier.problem("the head witness file is malformed")
                last = 0
                r = records_table.c
                integer_seq = _integer_seq(conn.dialect.name)
                while last < head:
                    rows = (
                        await conn.execute(
                            _select_records()
                            .where(r.seq > last, r.seq <= head, integer_seq)
                            .order_by(r.seq)
                            .limit(_PAGE)
                        )
                    ).all()
                    if not rows:
                        break
                    page = [decode_row(row._mapping) for row in rows]
                    records = [item for item in page if isinstance(item, StoredRecord)]
                    authentic = (
                        await self._authenticate(conn, records) if self.settings.verify_content else {}
                    )
                    for item in page:
                        if isinstance(item, DamagedRow):
                            verifier.feed_damaged(item.seq, item.column, item.hash)
                        else:
                            verifier.feed(item, authentic.get(item.seq))
                    last = max(last, int(rows[-1]._mapping["seq"]))
                    await conn.rollback()  # end the read transaction between pages
                stray = await _count_non_integer_seqs(conn)
                if stray:
                    # Rows whose seq is not an integer are no record: each left its seq missing,
                    # which the walk reports; this names them when they were the newest rows.
                    verifier.fail(head + 1, f"{stray} stored rows have a seq that is not an integer")
            if verifier.unexplained:
                # Pages are read in separate transactions: an erasure committed during the walk
                # nulled records after the head was read, and its erasure record lies beyond it.
                for seq, prev_hash, declaration in await self.erasure_declarations(head + 1):
                    verifier.declare(seq, prev_hash, declaration, report_invalid=False)
        except Exception as exc:
            log.error("audit.verify_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot be read") from None
        report = verifier.finish(every, external=len(external.checkpoints), head_seq=head)
        log.info("audit.verified", ok=report.ok, checked=report.checked, first_bad_seq=report.first_bad_seq)
        return report

    async def read_rows(self, first_seq: int, last_seq: int) -> list[StoredRecord | DamagedRow]:
        """Stored rows ``first_seq..last_seq`` in order (for export); rows that do not decode as
        :class:`~audit.records.DamagedRow`."""
        r = records_table.c
        rows = await self._read(
            _select_records()
            .where(r.seq >= first_seq, r.seq <= last_seq, _integer_seq(self.engine.dialect.name))
            .order_by(r.seq)
        )
        return [decode_row(row._mapping) for row in rows]

    async def read_range(self, first_seq: int, last_seq: int) -> list[StoredRecord]:
        """Stored rows ``first_seq..last_seq`` in order; raises AuditIntegrityError at a row that
        does not decode."""
        out: list[StoredRecord] = []
        for item in await self.read_rows(first_seq, last_seq):
            if isinstance(item, DamagedRow):
                raise AuditIntegrityError(f"audit record {item.seq} does not decode")
            out.append(item)
        return out

    async def seq_range(self, since: datetime | None, until: datetime | None) -> tuple[int, int] | None:
        """First and last seq whose time is in [since, until), or None."""
        r = records_table.c
        conditions = []
        if since is not None:
            conditions.append(r.ts_us >= us_from_time(since))
        if until is not None:
            conditions.append(r.ts_us < us_from_time(until))
        conditions.append(_integer_seq(self.engine.dialect.name))
        rows = await self._read(select(func.min(r.seq), func.max(r.seq)).where(and_(True, *conditions)))
        low, high = list(rows[0])
        return None if low is None else (int(low), int(high))

    async def erasure_declarations(self, from_seq: int) -> list[tuple[int, str, ErasureDeclaration]]:
        """``(seq, prev_hash, declaration)`` of every erasure record at ``from_seq`` or later (for
        export). Rows whose declaration does not decode are left out: what they would explain stays
        unexplained, which verification reports."""
        r = records_table.c
        rows = await self._read(
            select(*(column for column in _RAW_RECORD if column.name in ("seq", "prev_hash", "erases")))
            .where(r.seq >= from_seq, r.erases.is_not(None), _integer_seq(self.engine.dialect.name))
            .order_by(r.seq)
        )
        out: list[tuple[int, str, ErasureDeclaration]] = []
        for row in rows:
            seq, prev_hash, erases = row._mapping["seq"], row._mapping["prev_hash"], row._mapping["erases"]
            if not isinstance(prev_hash, str) or not isinstance(erases, str):
                continue
            with contextlib.suppress(InvalidDeclaration):
                out.append((int(seq), prev_hash, ErasureDeclaration.from_text(erases)))
        return out

    async def stored_checkpoints(self) -> list[Checkpoint]:
        rows = await self._read(select(checkpoints_table).order_by(checkpoints_table.c.seq))
        return [_checkpoint_from_row(row) for row in rows]

    async def export(
        self,
        since: datetime | None,
        until: datetime | None,
        out: Path,
        with_content: bool = False,
        *,
        caller_tenant: str | None = None,
    ) -> ExportSummary:
        """Write a signed bundle of the records in [since, until) to ``out``, 0600 (:mod:`audit.export`)."""
        from audit.export import export_bundle

        return await export_bundle(
            self, since, until, out, with_content=with_content, caller_tenant=caller_tenant
        )

    async def export_bytes(
        self,
        since: datetime | None,
        until: datetime | None,
        *,
        with_content: bool = False,
        caller_tenant: str | None = None,
    ) -> tuple[bytes, ExportSummary]:
        """The same bundle in memory, never written to a file (see :func:`audit.export.bundle_bytes`)."""
        from audit.export import bundle_bytes

        return await bundle_bytes(self, since, until, with_content=with_content, caller_tenant=caller_tenant)

    # ---- erasure ------------------------------------------------------------------------------

    async def erase(
        self,
        *,
        scopes: Sequence[str] = (),
        seq_ranges: Sequence[tuple[int, int]] = (),
        subject_ref: str | None = None,
        kind: str = ERASURE_KIND,
        principal: str | None = None,
        role: str | None = None,
        tenant: str | None = None,
        request_id: str | None = None,
    ) -> ErasureSummary:
        """Remove content and declare it, atomically: delete the data keys of ``scopes`` (the content
        of every record sealed under them), the ciphertext of the records in ``seq_ranges`` and, with
        ``subject_ref``, of every record of that subject; then append one erasure record of ``kind``
        whose header declares the key ids and seq ranges removed (:mod:`audit.erasure`), with a
        signed checkpoint on it, in the same locked transaction.

        The erasure record carries ``subject_ref`` and the caller's principal, role, tenant and
        request id in its header; its payload holds only counts, key ids and seq ranges. Records
        stay as tombstones (header and hashes), so the chain still verifies.
        Raises AuditUnavailable if the store cannot do it (nothing is erased then).
        """
        if any(not isinstance(scope, str) or not scope for scope in scopes):
            raise AuditError("erasure scopes must be non-empty strings")
        if subject_ref is not None and (not isinstance(subject_ref, str) or len(subject_ref) > 64):
            raise AuditError("subject_ref must be a string of at most 64 characters")
        try:
            ranges = ErasureDeclaration.of((), seq_ranges).seqs
        except InvalidDeclaration:
            raise AuditError("erasure seq ranges must be integer pairs 1 <= lo <= hi") from None
        header = AuditEvent(kind=kind, principal=principal, role=role, tenant=tenant, request_id=request_id)
        self._prepare(header, subject_ref=subject_ref)  # refuses invalid header fields before any change
        deadline = time.monotonic() + self.settings.append_timeout_s
        attempt = 0
        while True:
            try:
                summary, receipt, keys, checkpoint = await self._erase_once(
                    header, scopes, ranges, subject_ref
                )
                break
            except Exception as exc:
                attempt += 1
                if is_transient_db_error(exc) and time.monotonic() < deadline:
                    log.warning("audit.erase_retry", error=type(exc).__name__, attempt=attempt)
                    await asyncio.sleep(_backoff(attempt))
                    continue
                log.error("audit.erase_failed", error=type(exc).__name__)
                raise AuditUnavailable("audit store cannot erase") from None
        for key_id in summary.key_ids:
            self._deks.discard(key_id)
        for scope in scopes:
            self._scopes.discard(scope)
        self._cache_keys(keys)
        await self._committed(receipt, checkpoint)
        log.info(
            "audit.erased",
            kind=kind,
            seq=summary.seq,
            records=summary.records_erased,
            keys=summary.keys_deleted,
        )
        return summary

    async def _erase_once(
        self,
        header: AuditEvent,
        scopes: Sequence[str],
        ranges: tuple[tuple[int, int], ...],
        subject_ref: str | None,
    ) -> tuple[ErasureSummary, AppendReceipt, dict[str, tuple[str, bytes]], Checkpoint | None]:
        d, r = deks_table.c, records_table.c
        fresh = await self._prefetch_deks({_day_scope()})
        async with self.engine.connect() as conn:
            await begin_locked(conn)
            key_ids = sorted(
                str(row[0])
                for row in (await conn.execute(select(d.key_id).where(d.scope.in_(sorted(scopes))))).all()
            )
            head = await _read_head_seq(conn)
            declared = [(lo, min(hi, head)) for lo, hi in ranges if lo <= head]
            if subject_ref is not None:
                # The subject's records not sealed under a deleted key are declared by seq.
                rows = await conn.execute(
                    select(r.seq).where(
                        r.subject_ref == subject_ref,
                        r.ciphertext.is_not(None),
                        r.key_id.not_in(key_ids),
                        _integer_seq(conn.dialect.name),
                    )
                )
                declared += [(int(row[0]), int(row[0])) for row in rows.all()]
            declaration = ErasureDeclaration.of(key_ids, declared)
            targets = [r.key_id.in_(key_ids), *(r.seq.between(lo, hi) for lo, hi in declaration.seqs)]
            erased = await conn.execute(
                update(records_table).where(r.ciphertext.is_not(None), or_(*targets)).values(ciphertext=None)
            )
            if scopes:
                await conn.execute(delete(deks_table).where(d.scope.in_(sorted(scopes))))
            payload = {
                "erased_records": int(erased.rowcount),
                "deleted_keys": len(key_ids),
                "key_ids": list(declaration.key_ids),
                "seqs": [list(pair) for pair in declaration.seqs],
            }
            pending = self._prepare(
                replace(header, payload=payload), subject_ref=subject_ref, erasure=declaration
            )
            stored, keys, checkpoint = await self._append_locked(conn, [pending], fresh, checkpoint_now=True)
            await conn.commit()
        record = stored[0]
        summary = ErasureSummary(
            seq=record.seq,
            hash=record.hash,
            records_erased=int(erased.rowcount),
            keys_deleted=len(key_ids),
            key_ids=declaration.key_ids,
            seq_ranges=declaration.seqs,
        )
        return summary, _receipt(record), keys, checkpoint

    async def shred_subject(
        self,
        subject_ref: str,
        *,
        kind: str = ERASURE_KIND,
        principal: str | None = None,
        role: str | None = None,
        tenant: str | None = None,
        request_id: str | None = None,
    ) -> ShredSummary:
        """Crypto-shred one data subject: delete its data key and its records' ciphertext, and append
        the erasure record declaring it (see :meth:`erase`), in one transaction.

        The records stay as tombstones (seq, time, kind, hashes), so the chain still verifies.
        """
        summary = await self.erase(
            scopes=(f"s:{subject_ref}",),
            subject_ref=subject_ref,
            kind=kind,
            principal=principal,
            role=role,
            tenant=tenant,
            request_id=request_id,
        )
        return ShredSummary(
            subject_ref=subject_ref,
            records_erased=summary.records_erased,
            keys_deleted=summary.keys_deleted,
            erasure_seq=summary.seq,
        )

    # ---- lifecycle ----------------------------------------------------------------------------

    async def healthy(self) -> bool:
        """True when the writer runs and the store takes the append lock and reads the head."""
        if (
            self._closed
            or self._writer is None
            or self._writer.done()
            or self.stats.external_failures
            or self.stats.witness_failures
        ):
            return False
        try:
            async with asyncio.timeout(max(1.0, self.settings.busy_timeout_ms / 1000)):
                async with self.engine.connect() as conn:
                    await begin_locked(conn)
                    await _read_head(conn)
                    await conn.rollback()
        except Exception as exc:
            log.warning("audit.unhealthy", error=type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        """Drain pending appends, write a final checkpoint, release the engine if the log owns it."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None and not self._writer.done():
            self._queue.put_nowait(_STOP)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), self.settings.append_timeout_s * 2)
            if not self._writer.done():
                self._writer.cancel()
        if self._witness is not None:
            self._witness.cancel()
            try:
                await self._witness
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # closing goes on: the final checkpoint still gets written
                log.error("audit.head_witness_task_failed", error=type(exc).__name__)
            await self._flush_witness()
            self._witness_file.close()
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Pending) and not item.future.done():
                item.future.set_exception(AuditUnavailable("audit log closed"))
        try:
            await self.checkpoint()
        except AuditError as exc:
            log.error("audit.final_checkpoint_failed", error=type(exc).__name__)
        if self._owns_engine:
            await self.engine.dispose()
