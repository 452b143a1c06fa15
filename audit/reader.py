"""Reading the log: auditor queries (headers only), single records with their content, rows for
export, and online verification of the whole chain.

Readers decode every row strictly: a column of the wrong type (possible in SQLite, whose columns
are not typed) is reported as tampering at that record, never raised as a read failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import crypto
from audit.checkpoints import read_checkpoints
from audit.datakeys import DataKeys
from audit.erasure import ErasureDeclaration, InvalidDeclaration
from audit.errors import AuditError, AuditIntegrityError, AuditUnavailable
from audit.records import (
    DamagedRow,
    RecordHeader,
    RecordView,
    StoredRecord,
    decode_row,
    record_aad,
    to_header,
    us_from_time,
)
from audit.rows import (
    RAW_RECORD,
    checkpoint_from_row,
    count_non_integer_seqs,
    integer_seq,
    read_head_seq,
    select_records,
)
from audit.schema import checkpoints as checkpoints_table
from audit.schema import records as records_table
from audit.settings import AuditSettings
from audit.signing import Checkpoint, CheckpointSigner
from audit.verify import ChainVerifier, VerifyReport
from audit.witness import head_witness_path, read_head

log = structlog.get_logger("audit.reader")

_PAGE = 2000  # rows per read transaction of verify


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
    """One page of record headers and the cursor of the next page (None on the last)."""

    items: list[RecordHeader]
    next_cursor: str | None


class InvalidCursor(AuditError, ValueError):
    """The pagination cursor was not produced by this log."""


def encode_cursor(seq: int) -> str:
    """The opaque cursor of the page after ``seq``."""
    return base64.urlsafe_b64encode(f"a1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The seq an :func:`encode_cursor` cursor names; raises InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "a1":
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("invalid cursor") from None


def _header_of(item: StoredRecord | DamagedRow) -> RecordHeader:
    return item.header if isinstance(item, DamagedRow) else to_header(item)


_FILTER_COLUMNS = ("principal", "role", "model", "kind", "decision", "subject_ref", "request_id", "tenant")


class RecordReader:
    """Queries and verification over one log's tables (see :class:`audit.store.AuditLog`)."""

    def __init__(
        self, settings: AuditSettings, engine: AsyncEngine, keys: DataKeys, signer: CheckpointSigner
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._signer = signer

    def __repr__(self) -> str:
        return f"RecordReader(dialect={self._engine.dialect.name!r})"

    @property
    def _integer_seq(self) -> Any:
        return integer_seq(self._engine.dialect.name)

    async def _read(self, stmt: Any) -> Sequence[Row[Any]]:
        try:
            async with self._engine.connect() as conn:
                return (await conn.execute(stmt)).all()
        except Exception as exc:
            log.error("audit.read_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot be read") from None

    async def query(self, filters: RecordFilter, cursor: str | None = None, limit: int = 100) -> RecordPage:
        """Record headers (never content) matching ``filters``, in seq order, ``limit`` per page."""
        r = records_table.c
        conditions = [
            getattr(r, name) == getattr(filters, name)
            for name in _FILTER_COLUMNS
            if getattr(filters, name) is not None
        ]
        if filters.since is not None:
            conditions.append(r.ts_us >= us_from_time(filters.since))
        if filters.until is not None:
            conditions.append(r.ts_us < us_from_time(filters.until))
        if cursor:
            after = decode_cursor(cursor)
            conditions.append(r.seq < after if filters.newest_first else r.seq > after)
        limit = max(1, limit)
        conditions.append(self._integer_seq)
        stmt = select_records().where(and_(True, *conditions))
        stmt = stmt.order_by(r.seq.desc() if filters.newest_first else r.seq).limit(limit + 1)
        rows = await self._read(stmt)
        items = [_header_of(decode_row(row._mapping)) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1].seq) if len(rows) > limit else None
        return RecordPage(items=items, next_cursor=next_cursor)

    async def get(self, seq: int, with_content: bool = False) -> RecordView | None:
        """One record by seq; with its decrypted payload when asked for and still available."""
        rows = await self._read(select_records().where(records_table.c.seq == seq, self._integer_seq))
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
        async with self._engine.connect() as conn:
            dek = await self._keys.load(conn, record.key_id)
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
        async with self._engine.connect() as conn:
            for record in records:
                if record.ciphertext is None:
                    continue
                dek = await self._keys.load(conn, record.key_id)
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
            dek = await self._keys.load(conn, record.key_id)
            if dek is None:
                continue
            try:
                crypto.open_sealed(dek, record.ciphertext, record_aad(record))
                result[record.seq] = True
            except AuditIntegrityError:
                result[record.seq] = False
        return result

    async def verify(self) -> VerifyReport:
        """Check the whole chain, its signed checkpoints (database, external file, head witness)
        and, with ``verify_content``, that every ciphertext authenticates against its header.

        Safe while writers run: checkpoints are read before the head, so each one is covered.
        """
        external = await asyncio.to_thread(read_checkpoints, self._settings.checkpoint_file)
        witness = await asyncio.to_thread(read_head, head_witness_path(self._settings.checkpoint_file))
        try:
            async with self._engine.connect() as conn:
                db_checkpoints = [
                    checkpoint_from_row(row) for row in (await conn.execute(select(checkpoints_table))).all()
                ]
                head = await read_head_seq(conn)
                every = [*db_checkpoints, *external.checkpoints]
                if witness.checkpoint is not None:
                    every.append(witness.checkpoint)
                verifier = ChainVerifier(
                    self._signer.verifier, checkpoint_seqs=frozenset(cp.seq for cp in every)
                )
                for line in external.malformed_lines:
                    verifier.problem(f"external checkpoint file line {line} is malformed")
                if witness.malformed:
                    verifier.problem("the head witness file is malformed")
                await self._walk(conn, verifier, head)
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

    async def _walk(self, conn: AsyncConnection, verifier: ChainVerifier, head: int) -> None:
        """Feed records 1..``head`` to ``verifier``, one read transaction per page."""
        last = 0
        r = records_table.c
        integer = integer_seq(conn.dialect.name)
        while last < head:
            rows = (
                await conn.execute(
                    select_records().where(r.seq > last, r.seq <= head, integer).order_by(r.seq).limit(_PAGE)
                )
            ).all()
            if not rows:
                break
            page = [decode_row(row._mapping) for row in rows]
            records = [item for item in page if isinstance(item, StoredRecord)]
            authentic = await self._authenticate(conn, records) if self._settings.verify_content else {}
            for item in page:
                if isinstance(item, DamagedRow):
                    verifier.feed_damaged(item.seq, item.column, item.hash)
                else:
                    verifier.feed(item, authentic.get(item.seq))
            last = max(last, int(rows[-1]._mapping["seq"]))
            await conn.rollback()  # end the read transaction between pages
        stray = await count_non_integer_seqs(conn)
        if stray:
            # Rows whose seq is not an integer are no record: each left its seq missing,
            # which the walk reports; this names them when they were the newest rows.
            verifier.fail(head + 1, f"{stray} stored rows have a seq that is not an integer")

    async def read_rows(self, first_seq: int, last_seq: int) -> list[StoredRecord | DamagedRow]:
        """Stored rows ``first_seq..last_seq`` in order (for export); rows that do not decode as
        :class:`~audit.records.DamagedRow`."""
        r = records_table.c
        rows = await self._read(
            select_records().where(r.seq >= first_seq, r.seq <= last_seq, self._integer_seq).order_by(r.seq)
        )
        return [decode_row(row._mapping) for row in rows]

    async def seq_range(self, since: datetime | None, until: datetime | None) -> tuple[int, int] | None:
        """First and last seq whose time is in [since, until), or None."""
        r = records_table.c
        conditions = []
        if since is not None:
            conditions.append(r.ts_us >= us_from_time(since))
        if until is not None:
            conditions.append(r.ts_us < us_from_time(until))
        conditions.append(self._integer_seq)
        rows = await self._read(select(func.min(r.seq), func.max(r.seq)).where(and_(True, *conditions)))
        low, high = list(rows[0])
        return None if low is None else (int(low), int(high))

    async def erasure_declarations(self, from_seq: int) -> list[tuple[int, str, ErasureDeclaration]]:
        """``(seq, prev_hash, declaration)`` of every erasure record at ``from_seq`` or later (for
        export). Rows whose declaration does not decode are left out: what they would explain stays
        unexplained, which verification reports."""
        r = records_table.c
        rows = await self._read(
            select(*(column for column in RAW_RECORD if column.name in ("seq", "prev_hash", "erases")))
            .where(r.seq >= from_seq, r.erases.is_not(None), self._integer_seq)
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
        """The checkpoints stored in the database, in seq order."""
        rows = await self._read(select(checkpoints_table).order_by(checkpoints_table.c.seq))
        return [checkpoint_from_row(row) for row in rows]
