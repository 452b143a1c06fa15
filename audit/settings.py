"""Settings of one audit log, and the counters its writer keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.keyring import KeyProvider


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
