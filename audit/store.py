"""The audit log: durable, group-committed appends; auditor queries; online verification.

:class:`AuditLog` is the one object the gateway holds. It puts together the parts, each in its
own module:

* :mod:`audit.writer`: the group-commit writer; ``append`` returns only after COMMIT, and any
  failure to commit surfaces as :class:`AuditUnavailable` (fail closed) within ``append_timeout_s``.
* :mod:`audit.checkpoints` and :mod:`audit.witness`: signed checkpoints in the database and the
  external file, and the head witness beside them.
* :mod:`audit.reader`: queries, single records, rows for export, online verification.
* :mod:`audit.eraser`: erasures, in one locked transaction with their erasure record.
* :mod:`audit.datakeys`: the data keys, unwrapped through the key provider and cached.
* :mod:`audit.database`: the engine factory (SQLite files 0600, one set of pragmas).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.checkpoints import Checkpointer
from audit.database import (
    create_db_engine,
    is_transient_db_error,
    prepare_sqlite_database,
    prepare_sqlite_file,
)
from audit.datakeys import DataKeys
from audit.eraser import Eraser, ErasureGuard, ErasureSummary, ShredSummary
from audit.erasure import ERASURE_KIND, ErasureDeclaration
from audit.errors import AuditError, AuditIntegrityError, AuditUnavailable, KeyUnavailable
from audit.files import ensure_private_dir, load_or_create_secret
from audit.keyring import SUBJECT_KEY_FILE, KeyProvider, LocalKeyFileProvider, SubjectHasher
from audit.migrations import migrate
from audit.reader import InvalidCursor, RecordFilter, RecordPage, RecordReader
from audit.records import AuditEvent, DamagedRow, RecordView, StoredRecord
from audit.rows import begin_locked, read_chain_head
from audit.settings import AuditSettings, AuditStats
from audit.signing import Checkpoint, CheckpointSigner
from audit.verify import VerifyReport
from audit.witness import WitnessKeeper
from audit.writer import AppendReceipt, BatchWriter, CommitObserver

if TYPE_CHECKING:
    from audit.export import ExportSummary

__all__ = [
    "AppendReceipt",
    "AuditLog",
    "AuditSettings",
    "AuditStats",
    "ErasureGuard",
    "ErasureSummary",
    "InvalidCursor",
    "RecordFilter",
    "RecordPage",
    "ShredSummary",
    "is_transient_db_error",
    "prepare_sqlite_database",
    "prepare_sqlite_file",
]

log = structlog.get_logger("audit.store")


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
        self.stats = AuditStats()
        self._closed = False
        keys = DataKeys(engine, provider, settings.dek_cache_entries)
        self._checkpoints = Checkpointer(settings, engine, signer, self.stats)
        self._witness = WitnessKeeper(settings.checkpoint_file, signer, self.stats)
        self._writer = BatchWriter(
            settings, engine, keys, signer, subjects, self._checkpoints, self._witness, self.stats
        )
        self._reader = RecordReader(settings, engine, keys, signer)
        self._eraser = Eraser(settings, engine, keys, signer, subjects, self._writer)

    def __repr__(self) -> str:
        return f"AuditLog(dialect={self.engine.dialect.name!r}, closed={self._closed})"

    @classmethod
    async def open(cls, settings: AuditSettings, engine: AsyncEngine | None = None) -> AuditLog:
        """Migrate the tables, load or create the key ring (0600 files in a 0700 directory), start the writer.

        The gateway may pass its shared engine (it keeps ownership); otherwise one is built from
        ``settings.url`` with :func:`audit.database.create_db_engine` and disposed on :meth:`close`.
        """
        ensure_private_dir(settings.key_dir)
        provider = settings.key_provider or LocalKeyFileProvider(settings.key_dir)
        signer = CheckpointSigner.load_or_create(settings.key_dir)
        try:
            subject_key = load_or_create_secret(settings.key_dir / SUBJECT_KEY_FILE)
        except RuntimeError:
            raise KeyUnavailable(f"key file {SUBJECT_KEY_FILE} has the wrong length") from None
        owns = engine is None
        if engine is None:
            engine = create_db_engine(settings.url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            await migrate(engine)
        except Exception as exc:
            if owns:
                await engine.dispose()
            log.error("audit.open_failed", error=type(exc).__name__)
            raise AuditUnavailable("audit store cannot be opened") from None
        self = cls(settings, engine, owns, provider, signer, SubjectHasher(subject_key))
        await self._checkpoints.load()
        self._writer.start()
        self._witness.start()
        return self

    def observe_commits(self, observer: CommitObserver | None) -> None:
        """Tell ``observer`` of every batch commit from now on (duration, records, success): the
        gateway's metrics. None stops it."""
        self._writer.on_commit = observer

    def subject_ref(self, subject_id: str) -> str:
        """Keyed HMAC of a data-subject id: what the log stores and what auditors filter by."""
        return self._subjects.ref(subject_id)

    # ---- writing ------------------------------------------------------------------------------

    async def append(self, event: AuditEvent) -> AppendReceipt:
        """Record ``event``; returns (seq, hash) only after the record is committed.

        Raises AuditUnavailable if the store cannot commit within ``append_timeout_s``.
        """
        if self._closed or not self._writer.running:
            raise AuditUnavailable("audit log is not running")
        return await self._writer.append(event)

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (stored in the database and appended to the external file).

        Returns None for an empty log; the existing checkpoint if the head already has one.
        """
        return await self._checkpoints.checkpoint()

    # ---- reading ------------------------------------------------------------------------------

    async def query(self, filters: RecordFilter, cursor: str | None = None, limit: int = 100) -> RecordPage:
        """Record headers (never content) matching ``filters``, in seq order, ``limit`` per page."""
        return await self._reader.query(filters, cursor, limit)

    async def get(self, seq: int, with_content: bool = False) -> RecordView | None:
        """One record by seq; with its decrypted payload when asked for and still available.

        A row that does not decode comes back with ``header.integrity_error`` set and, when content
        is asked for, ``content_status="integrity_error"``."""
        return await self._reader.get(seq, with_content)

    async def decrypt_records(self, records: Sequence[StoredRecord]) -> dict[int, Any]:
        """Decrypted payloads by seq for the records whose key and ciphertext are available and intact."""
        return await self._reader.decrypt_records(records)

    async def verify(self) -> VerifyReport:
        """Check the whole chain, its signed checkpoints (in the database and in the external file)
        and, with ``verify_content``, that every ciphertext authenticates against its header.

        Safe while writers run: checkpoints are read before the head, so each one is covered.
        """
        return await self._reader.verify()

    async def read_rows(self, first_seq: int, last_seq: int) -> list[StoredRecord | DamagedRow]:
        """Stored rows ``first_seq..last_seq`` in order (for export); rows that do not decode as
        :class:`~audit.records.DamagedRow`."""
        return await self._reader.read_rows(first_seq, last_seq)

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
        return await self._reader.seq_range(since, until)

    async def erasure_declarations(self, from_seq: int) -> list[tuple[int, str, ErasureDeclaration]]:
        """``(seq, prev_hash, declaration)`` of every erasure record at ``from_seq`` or later (for
        export). Rows whose declaration does not decode are left out: what they would explain stays
        unexplained, which verification reports."""
        return await self._reader.erasure_declarations(from_seq)

    async def stored_checkpoints(self) -> list[Checkpoint]:
        """The checkpoints stored in the database, in seq order."""
        return await self._reader.stored_checkpoints()

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
        guard: ErasureGuard | None = None,
    ) -> ErasureSummary:
        """Remove content and declare it, atomically: delete the data keys of ``scopes`` (the content
        of every record sealed under them), the ciphertext of the records in ``seq_ranges`` and, with
        ``subject_ref``, of every record of that subject; then append one erasure record of ``kind``
        whose header declares the key ids and seq ranges removed (:mod:`audit.erasure`), with a
        signed checkpoint on it, in the same locked transaction.

        The erasure record carries ``subject_ref`` and the caller's principal, role, tenant and
        request id in its header; its payload holds only counts, key ids and seq ranges. Records
        stay as tombstones (header and hashes), so the chain still verifies.
        ``guard(conn)`` runs first inside that transaction, after the lock is taken: checks that
        must hold when the erasure commits (legal holds) read through ``conn`` there, and an
        :class:`AuditError` it raises refuses the erasure and reaches the caller unchanged.
        Raises AuditUnavailable if the store cannot do it (nothing is erased then).
        """
        header = AuditEvent(kind=kind, principal=principal, role=role, tenant=tenant, request_id=request_id)
        return await self._eraser.erase(header, scopes, seq_ranges, subject_ref, guard)

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
            or not self._writer.running
            or self.stats.external_failures
            or self.stats.witness_failures
        ):
            return False
        try:
            async with asyncio.timeout(max(1.0, self.settings.busy_timeout_ms / 1000)):
                async with self.engine.connect() as conn:
                    await begin_locked(conn)
                    await read_chain_head(conn)
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
        await self._writer.stop()
        await self._witness.close()
        try:
            await self.checkpoint()
        except AuditError as exc:
            log.error("audit.final_checkpoint_failed", error=type(exc).__name__)
        if self._owns_engine:
            await self.engine.dispose()
