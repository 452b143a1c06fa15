"""Signed checkpoints of the chain: in the database and in the external checkpoint file.

* The external checkpoint file: one signed checkpoint per line (JSON Lines). A database
  administrator who deletes the newest rows could delete the in-database checkpoints too; this file
  (on another volume or host, or shipped to a witness) still says how long the chain was. Lines are
  appended with O_APPEND under an exclusive lock and fsynced.
* The head witness (:mod:`audit.witness`) covers the records committed since the newest checkpoint.
* :class:`Checkpointer` signs the head into both, every ``checkpoint_every`` records (inside the
  append transaction) and every ``checkpoint_interval_s`` while records are unsigned.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.errors import AuditError, AuditUnavailable
from audit.rows import begin_locked, checkpoint_from_row, now_us, read_chain_head
from audit.schema import checkpoints as checkpoints_table
from audit.settings import AuditSettings, AuditStats
from audit.signing import Checkpoint, CheckpointSigner

log = structlog.get_logger("audit.checkpoints")


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Append one checkpoint line durably (blocking: call from a thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, checkpoint.to_json_line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class ExternalCheckpoints:
    checkpoints: list[Checkpoint]
    malformed_lines: list[int]  # 1-based line numbers (a torn last line is not counted)


def read_checkpoints(path: Path) -> ExternalCheckpoints:
    """Every checkpoint in the file (missing file: none). Malformed lines are reported, not raised."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ExternalCheckpoints([], [])
    lines = data.split(b"\n")
    torn_tail = not data.endswith(b"\n")
    result: list[Checkpoint] = []
    malformed: list[int] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            result.append(Checkpoint.from_dict(json.loads(raw)))
        except (ValueError, KeyError, TypeError):
            # A crash in the middle of a write leaves a torn last line; that is not tampering.
            if not (torn_tail and number == len(lines)):
                malformed.append(number)
    return ExternalCheckpoints(result, malformed)


class Checkpointer:
    """Signs checkpoints of the head: into the database and the external file, after the records
    they cover are committed; periodically while the log has unsigned records."""

    def __init__(
        self, settings: AuditSettings, engine: AsyncEngine, signer: CheckpointSigner, stats: AuditStats
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._signer = signer
        self._stats = stats
        self._dirty = False
        self._last_at = time.monotonic()
        self._last_external_seq = 0
        self._external_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Checkpointer(dirty={self._dirty})"

    async def load(self) -> None:
        """Learn the newest checkpoint already in the external file (at open)."""
        external = await asyncio.to_thread(read_checkpoints, self._settings.checkpoint_file)
        self._last_external_seq = max((cp.seq for cp in external.checkpoints), default=0)

    def mark_dirty(self) -> None:
        """Records were committed that no checkpoint covers yet."""
        self._dirty = True

    def due_in(self) -> float | None:
        """Seconds until the periodic checkpoint is due; None while every record is covered."""
        if not self._dirty:
            return None
        return max(0.0, self._last_at + self._settings.checkpoint_interval_s - time.monotonic())

    def is_due(self) -> bool:
        """The periodic checkpoint is due now."""
        return self._dirty and time.monotonic() - self._last_at >= self._settings.checkpoint_interval_s

    def _checkpointed(self) -> None:
        self._dirty = False
        self._last_at = time.monotonic()
        self._stats.checkpoints += 1

    async def committed(self, checkpoint: Checkpoint | None) -> None:
        """A transaction that wrote ``checkpoint`` (if any) committed: copy it to the external file."""
        if checkpoint is not None:
            self._checkpointed()
            await self._write_external(checkpoint)

    async def checkpoint_safely(self) -> None:
        """:meth:`checkpoint`, logging a failure instead of raising (the next one is due in an interval)."""
        try:
            await self.checkpoint()
        except AuditError as exc:
            log.error("audit.checkpoint_failed", error=type(exc).__name__)
            self._last_at = time.monotonic()

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (stored in the database and appended to the external file).

        Returns None for an empty log; the existing checkpoint if the head already has one.
        """
        try:
            async with self._engine.connect() as conn:
                await begin_locked(conn)
                seq, head_hash, _ = await read_chain_head(conn)
                if seq == 0:
                    await conn.rollback()
                    return None
                c = checkpoints_table.c
                row = (await conn.execute(select(checkpoints_table).where(c.seq == seq))).first()
                if row is not None:
                    checkpoint = checkpoint_from_row(row)
                    await conn.rollback()
                else:
                    checkpoint = self._signer.checkpoint(seq, head_hash, now_us())
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

    async def _write_external(self, checkpoint: Checkpoint) -> None:
        async with self._external_lock:
            if checkpoint.seq <= self._last_external_seq:
                return
            try:
                await asyncio.to_thread(append_checkpoint, self._settings.checkpoint_file, checkpoint)
            except OSError as exc:
                self._stats.external_failures += 1
                log.error("audit.external_checkpoint_failed", error=type(exc).__name__, seq=checkpoint.seq)
                return
            self._last_external_seq = checkpoint.seq
            self._stats.external_failures = 0
