"""Helpers for audit log tests: settings, events, raw SQLite access as an attacker would have it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from audit.records import AuditEvent, StoredRecord
from audit.store import AuditSettings

SUBJECT = "patient-4711-HANS-MUSTERMANN"


def make_settings(tmp_path: Path, url: str | None = None, **overrides: object) -> AuditSettings:
    values: dict[str, object] = {
        "url": url or f"sqlite+aiosqlite:///{tmp_path / 'db' / 'audit.db'}",
        "key_dir": tmp_path / "keys",
        "checkpoint_file": tmp_path / "witness" / "checkpoints.jsonl",
        "checkpoint_every": 5,
        "checkpoint_interval_s": 3600.0,
        "busy_timeout_ms": 300,
        "append_timeout_s": 5.0,
    }
    values.update(overrides)
    return AuditSettings(**values)  # type: ignore[arg-type]


def db_path(settings: AuditSettings) -> Path:
    return Path(settings.url.split("///", 1)[1])


def event(i: int, *, subject: str | None = None, marker: str = "", **overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "kind": "chat.request" if i % 2 else "chat.response",
        "principal": f"user-{i % 3}",
        "role": "clinician" if i % 3 else "service",
        "model": "deepseek" if i % 4 else "other-model",
        "request_id": f"req-{i}",
        "subject_id": subject,
        "decision": "allow" if i % 5 else "block",
        "entity_counts": {"PERSON": i % 3},
        "usage": {"prompt_tokens": i, "completion_tokens": 2 * i},
        "latency_ms": 1.25 * i,
        "payload": {"n": i, "text": f"{marker} message {i}"},
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


COLUMNS = (
    "seq",
    "ts_us",
    "kind",
    "tenant",
    "principal",
    "role",
    "model",
    "request_id",
    "subject_ref",
    "decision",
    "entity_counts",
    "usage",
    "latency_us",
    "key_id",
    "ciphertext",
    "ciphertext_hash",
    "prev_hash",
    "hash",
    "erases",
)


def raw_rows(path: Path) -> list[StoredRecord]:
    """Rows read with the sqlite3 module, as an attacker with file access would."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_records ORDER BY seq").fetchall()
    return [StoredRecord(**dict(zip(COLUMNS, row, strict=True))) for row in rows]


def raw_execute(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def raw_insert(path: Path, record: StoredRecord) -> None:
    """Append one row as a database administrator could (no lock, no signing key)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            f"INSERT INTO audit_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            tuple(getattr(record, c) for c in COLUMNS),
        )
        conn.commit()
    finally:
        conn.close()


def raw_replace_all(path: Path, records: list[StoredRecord]) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("DELETE FROM audit_records")
        conn.executemany(
            f"INSERT INTO audit_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [tuple(getattr(r, c) for c in COLUMNS) for r in records],
        )
        conn.commit()
    finally:
        conn.close()
