"""Signed statements about the chain kept outside the database.

* The external checkpoint file: one signed checkpoint per line (JSON Lines). A database
  administrator who deletes the newest rows could delete the in-database checkpoints too; this file
  (on another volume or host, or shipped to a witness) still says how long the chain was. Lines are
  appended with O_APPEND under an exclusive lock and fsynced.
* The head witness (``<checkpoint file>.head``): a signed checkpoint of the newest committed head,
  rewritten in place after committed batches (not fsynced). It closes the window between periodic
  checkpoints: rows deleted after the newest checkpoint are still missed by the chain the witness
  names. It survives a process crash, not necessarily a power loss.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from audit.signing import Checkpoint


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
