"""The external checkpoint file: one signed checkpoint per line (JSON Lines), outside the database.

A database administrator who deletes the newest rows could delete the in-database checkpoints
too; this file (on another volume or host, or shipped to a witness) still says how long the chain
was. Lines are appended with O_APPEND under an exclusive lock and fsynced.
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
