"""Erasing content: delete data keys and ciphertext and append the erasure record that declares
it (:mod:`audit.erasure`), in one transaction under the append lock, through the same chaining
code as the appends (:func:`audit.writer.append_locked`). Nothing is erased unless all of it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import structlog
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.database import is_transient_db_error
from audit.datakeys import DataKeys, ScopeKeys
from audit.erasure import ErasureDeclaration, InvalidDeclaration
from audit.errors import AuditError, AuditUnavailable
from audit.keyring import SubjectHasher
from audit.records import AuditEvent
from audit.rows import begin_locked, integer_seq, read_head_seq
from audit.schema import deks as deks_table
from audit.schema import records as records_table
from audit.settings import AuditSettings
from audit.signing import Checkpoint, CheckpointSigner
from audit.writer import (
    AppendReceipt,
    BatchWriter,
    append_locked,
    backoff,
    day_scope,
    prepare_event,
    receipt_of,
)

log = structlog.get_logger("audit.eraser")

#: Checks run inside the erasure's locked transaction, before anything is removed: raising an
#: :class:`AuditError` there refuses the erasure (the error reaches the caller as it is).
ErasureGuard = Callable[[AsyncConnection], Awaitable[None]]


class _Refused(Exception):
    """Carries a guard's refusal out of the retry loop unchanged."""

    def __init__(self, error: AuditError) -> None:
        super().__init__(type(error).__name__)
        self.error = error


@dataclass(frozen=True)
class ErasureSummary:
    """What an erasure removed, and its erasure record (``seq``, ``hash``)."""

    seq: int
    hash: str
    records_erased: int
    keys_deleted: int
    key_ids: tuple[str, ...]
    seq_ranges: tuple[tuple[int, int], ...]
    # SQLite: the deleted keys and ciphertext were overwritten in the file and the WAL truncated
    # (False when the WAL could not be truncated now; None on databases where it does not apply).
    storage_scrubbed: bool | None = None


@dataclass(frozen=True)
class ShredSummary:
    """What crypto-shredding one data subject removed."""

    subject_ref: str
    records_erased: int
    keys_deleted: int
    erasure_seq: int  # the erasure record that declares it


class Eraser:
    """Runs erasures for one log (see :meth:`audit.store.AuditLog.erase`)."""

    def __init__(
        self,
        settings: AuditSettings,
        engine: AsyncEngine,
        keys: DataKeys,
        signer: CheckpointSigner,
        subjects: SubjectHasher,
        writer: BatchWriter,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._signer = signer
        self._subjects = subjects
        self._writer = writer

    def __repr__(self) -> str:
        return "Eraser()"

    async def erase(
        self,
        header: AuditEvent,
        scopes: Sequence[str],
        seq_ranges: Sequence[tuple[int, int]],
        subject_ref: str | None,
        guard: ErasureGuard | None = None,
    ) -> ErasureSummary:
        """Validate, then erase and declare atomically, trying again after lock conflicts until
        ``append_timeout_s``; raises AuditError for invalid arguments (before any change),
        whatever AuditError ``guard`` raises (it runs under the append lock, so what it checks
        cannot change before the erasure commits), and AuditUnavailable when the store cannot do
        it (nothing is erased then)."""
        if any(not isinstance(scope, str) or not scope for scope in scopes):
            raise AuditError("erasure scopes must be non-empty strings")
        if subject_ref is not None and (not isinstance(subject_ref, str) or len(subject_ref) > 64):
            raise AuditError("subject_ref must be a string of at most 64 characters")
        try:
            ranges = ErasureDeclaration.of((), seq_ranges).seqs
        except InvalidDeclaration:
            raise AuditError("erasure seq ranges must be integer pairs 1 <= lo <= hi") from None
        prepare_event(header, self._subjects, subject_ref=subject_ref)  # refuses invalid header fields
        deadline = time.monotonic() + self._settings.append_timeout_s
        attempt = 0
        while True:
            try:
                summary, receipt, keys, checkpoint = await self._erase_once(
                    header, scopes, ranges, subject_ref, guard
                )
                break
            except _Refused as refused:
                log.info("audit.erase_refused", kind=header.kind, error=type(refused.error).__name__)
                raise refused.error from None
            except Exception as exc:
                attempt += 1
                if is_transient_db_error(exc) and time.monotonic() < deadline:
                    log.warning("audit.erase_retry", error=type(exc).__name__, attempt=attempt)
                    await asyncio.sleep(backoff(attempt))
                    continue
                log.error("audit.erase_failed", error=type(exc).__name__)
                raise AuditUnavailable("audit store cannot erase") from None
        self._keys.forget(summary.key_ids, scopes)
        self._keys.remember(keys)
        await self._writer.committed(receipt, checkpoint)
        scrubbed = await self._scrub()
        log.info(
            "audit.erased",
            kind=header.kind,
            seq=summary.seq,
            records=summary.records_erased,
            keys=summary.keys_deleted,
        )
        return replace(summary, storage_scrubbed=scrubbed)

    async def _scrub(self) -> bool | None:
        """SQLite: move the committed pages into the database file and truncate the WAL, whose
        older frames still hold the deleted rows as first written. Best effort (readers may hold
        the WAL); the erasure stands either way, and the next erasure truncates it again."""
        if self._engine.dialect.name != "sqlite":
            return None
        try:
            async with self._engine.connect() as conn:
                row = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
                await conn.rollback()
        except Exception as exc:
            log.warning("audit.erase_scrub_failed", error=type(exc).__name__)
            return False
        scrubbed = row is not None and int(row[0]) == 0
        if not scrubbed:
            log.warning("audit.erase_scrub_busy")
        return scrubbed

    async def _erase_once(
        self,
        header: AuditEvent,
        scopes: Sequence[str],
        ranges: tuple[tuple[int, int], ...],
        subject_ref: str | None,
        guard: ErasureGuard | None,
    ) -> tuple[ErasureSummary, AppendReceipt, ScopeKeys, Checkpoint | None]:
        d, r = deks_table.c, records_table.c
        fresh = await self._keys.prefetch({day_scope()})
        async with self._engine.connect() as conn:
            # (SQLite: every connection runs with secure_delete, audit.database, so the pages
            # freed below are overwritten with zeros.)
            await begin_locked(conn)
            if guard is not None:
                try:
                    await guard(conn)
                except AuditError as exc:
                    await conn.rollback()
                    raise _Refused(exc) from None
            key_ids = sorted(
                str(row[0])
                for row in (await conn.execute(select(d.key_id).where(d.scope.in_(sorted(scopes))))).all()
            )
            head = await read_head_seq(conn)
            declared = [(lo, min(hi, head)) for lo, hi in ranges if lo <= head]
            if subject_ref is not None:
                # The subject's records not sealed under a deleted key are declared by seq.
                rows = await conn.execute(
                    select(r.seq).where(
                        r.subject_ref == subject_ref,
                        r.ciphertext.is_not(None),
                        r.key_id.not_in(key_ids),
                        integer_seq(conn.dialect.name),
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
            pending = prepare_event(
                replace(header, payload=payload), self._subjects, subject_ref=subject_ref, erasure=declaration
            )
            stored, keys, checkpoint = await append_locked(
                conn,
                [pending],
                fresh,
                keys=self._keys,
                signer=self._signer,
                checkpoint_every=self._settings.checkpoint_every,
                checkpoint_now=True,
            )
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
        return summary, receipt_of(record), keys, checkpoint
