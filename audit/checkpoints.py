"""Signed statements about the chain kept outside the database.

* The external checkpoint file: one signed checkpoint per line (JSON Lines). A database
  administrator who deletes the newest rows could delete the in-database checkpoints too; this file
  (on another volume or host, or shipped to a witness) still says how long the chain was. Lines are
  appended with O_APPEND under an exclusive lock and fsynced.
* The head witness (``<checkpoint file>.head``): one signed checkpoint of the newest committed head,
  replaced after every committed batch (written to a temporary file and renamed, not fsynced). It
  closes the window between periodic checkpoints: rows deleted after the newest checkpoint are still
  missed by the chain the witness names. It survives a process crash, not necessarily a power loss.
"""

from __future__ import annotations

import fcntl
import json
import os
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


def write_head(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the head witness with ``checkpoint`` unless it already names a later head.

    Several gateway processes on one host share the file: a lock file serializes them, and the
    newest seq wins. Blocking: call from a thread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        current = read_head(path)
        if current.checkpoint is not None and current.checkpoint.seq >= checkpoint.seq:
            return
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, checkpoint.to_json_line().encode())
        finally:
            os.close(fd)
        os.replace(temporary, path)
    finally:
        os.close(lock_fd)


@dataclass(frozen=True)
class HeadWitness:
    checkpoint: Checkpoint | None
    malformed: bool


def read_head(path: Path) -> HeadWitness:
    """The head witness (missing file: none; unreadable content: ``malformed``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return HeadWitness(None, False)
    try:
        return HeadWitness(Checkpoint.from_dict(json.loads(data)), False)
    except (ValueError, KeyError, TypeError):
        return HeadWitness(None, True)
