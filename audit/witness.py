"""The head witness (``<checkpoint file>.head``): a signed checkpoint of the newest committed head,
rewritten in place after committed batches (not fsynced). It closes the window between periodic
checkpoints: rows deleted after the newest checkpoint are still missed by the chain the witness
names. It survives a process crash, not necessarily a power loss.

:class:`HeadWitnessFile` writes the file, :func:`read_head` reads it back, and
:class:`WitnessKeeper` keeps it on the newest head beside the writer, never on the append path.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

from audit.rows import now_us
from audit.settings import AuditStats
from audit.signing import Checkpoint, CheckpointSigner

log = structlog.get_logger("audit.witness")


def head_witness_path(checkpoint_file: Path) -> Path:
    """Where the head witness lives: next to the external checkpoint file."""
    return checkpoint_file.with_name(checkpoint_file.name + ".head")


# The witness file has two fixed-size slots, written in turn in place: a write torn by a crash
# spoils one slot and leaves the other (one head older) readable. In-place writes also keep the
# file system's metadata still: a rename per batch slowed the database's own fsyncs measurably.
_SLOT = 512


class HeadWitnessFile:
    """Writer of the head witness. Keeps the file open; call ``write`` from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._closed = False
        # flock excludes other processes, not other threads sharing this descriptor.
        self._lock = threading.Lock()

    def write(self, checkpoint: Checkpoint) -> None:
        """Record ``checkpoint`` unless the file already names a later head (several processes on
        one host share it: an exclusive lock serializes them, the newest seq wins)."""
        line = checkpoint.to_json_line().encode()
        if len(line) > _SLOT:
            raise ValueError("checkpoint does not fit a head witness slot")
        with self._lock:
            self._write(line, checkpoint.seq)

    def _write(self, line: bytes, seq: int) -> None:
        if self._closed:
            return  # a write still in flight when the log closed: the final checkpoint covers it
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            slots = _parse_slots(os.pread(fd, 2 * _SLOT, 0))
            newest = max(((cp.seq, index) for index, cp in enumerate(slots) if cp is not None), default=None)
            if newest is not None and newest[0] >= seq:
                return
            target = 0 if newest is None else 1 - newest[1]
            os.pwrite(fd, line.ljust(_SLOT - 1) + b"\n", target * _SLOT)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


@dataclass(frozen=True)
class HeadWitness:
    checkpoint: Checkpoint | None
    malformed: bool


def read_head(path: Path) -> HeadWitness:
    """The newest head in the witness (missing or empty file: none; no readable slot: ``malformed``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return HeadWitness(None, False)
    if not data:
        return HeadWitness(None, False)
    slots = [cp for cp in _parse_slots(data) if cp is not None]
    if not slots or len(data) > 2 * _SLOT:
        return HeadWitness(None, True)
    return HeadWitness(max(slots, key=lambda cp: cp.seq), False)


def _parse_slots(data: bytes) -> list[Checkpoint | None]:
    slots: list[Checkpoint | None] = []
    for index in range(2):
        raw = data[index * _SLOT : (index + 1) * _SLOT]
        try:
            slots.append(Checkpoint.from_dict(json.loads(raw)) if raw.strip() else None)
        except (ValueError, KeyError, TypeError):
            slots.append(None)
    return slots


#: The head witness is rewritten at most this often (a signature, a lock and two slot reads each:
#: at every commit they took about 0.1 ms of the GIL from the request path per commit).
WITNESS_INTERVAL_S = 0.02


class WitnessKeeper:
    """Keeps the head witness file on the newest committed head, in a task beside the writer (not
    on the path of the appends, nor of the next batch); heads committed meanwhile, and within
    ``interval_s`` of the last write, are coalesced into one write."""

    def __init__(
        self,
        checkpoint_file: Path,
        signer: CheckpointSigner,
        stats: AuditStats,
        interval_s: float | None = None,
    ) -> None:
        self._file = HeadWitnessFile(head_witness_path(checkpoint_file))
        self._signer = signer
        self._stats = stats
        self._pending: tuple[int, str] | None = None  # newest committed head not yet in the file
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._interval_s = WITNESS_INTERVAL_S if interval_s is None else interval_s

    def __repr__(self) -> str:
        return f"WitnessKeeper(path={self._file.path.name!r})"

    def start(self) -> None:
        """Start the task (call from the event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-witness")

    def advance(self, seq: int, head_hash: str) -> None:
        """A head was committed: witness it soon, unless a newer one is already waiting."""
        if self._pending is None or seq > self._pending[0]:
            self._pending = (seq, head_hash)
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            await self._flush()
            # Heads committed in the meantime are coalesced into the next write.
            await asyncio.sleep(self._interval_s)

    async def _flush(self) -> None:
        self._wakeup.clear()
        head, self._pending = self._pending, None
        if head is None:
            return
        seq, head_hash = head

        def sign_and_write() -> None:
            self._file.write(self._signer.checkpoint(seq, head_hash, now_us()))

        try:
            await asyncio.to_thread(sign_and_write)
        except OSError as exc:
            self._stats.witness_failures += 1
            log.error("audit.head_witness_failed", error=type(exc).__name__, seq=seq)
            return
        self._stats.witness_failures = 0

    async def close(self) -> None:
        """Stop the task, witness the last head, close the file."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # closing goes on: the final checkpoint still gets written
                log.error("audit.head_witness_task_failed", error=type(exc).__name__)
            await self._flush()
        self._file.close()
