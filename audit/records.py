"""Audit records: the event the gateway hands in, the stored row, canonical header encoding and hashing.

A record's hash is SHA-256 over a domain tag and the canonical JSON of its header: every column
except the ciphertext itself, which is represented by its SHA-256 (``ciphertext_hash``). So a
record whose content was erased (ciphertext deleted, hash kept) still verifies. The payload is
encrypted with the same header minus ``ciphertext_hash`` as associated data, which binds the
content to its seq, its place in the chain and every header field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS_HASH = "0" * 64
_HASH_TAG = b"audit-record-v1\n"
_AAD_TAG = b"audit-aad-v1\n"


@dataclass(frozen=True)
class AuditEvent:
    """What the gateway records. Personal data and content go only into ``payload`` (encrypted).

    ``subject_id`` is the raw data-subject id; the log stores only its keyed HMAC (``subject_ref``).
    ``entity_counts`` holds counts per entity type or rule, never values.
    """

    kind: str
    principal: str | None = None
    role: str | None = None
    model: str | None = None
    request_id: str | None = None
    subject_id: str | None = None
    decision: str = "allow"
    entity_counts: Mapping[str, int] = field(default_factory=dict)
    usage: Mapping[str, int] | None = None
    latency_ms: float | None = None
    payload: Mapping[str, Any] | None = None
    tenant: str | None = None

    def __repr__(self) -> str:  # the payload and subject id may hold personal data
        return f"AuditEvent(kind={self.kind!r}, request_id={self.request_id!r}, decision={self.decision!r})"


@dataclass(frozen=True)
class StoredRecord:
    """One row of ``audit_records`` exactly as stored (``ciphertext`` is None once erased)."""

    seq: int
    ts_us: int
    kind: str
    tenant: str | None
    principal: str | None
    role: str | None
    model: str | None
    request_id: str | None
    subject_ref: str | None
    decision: str
    entity_counts: str
    usage: str | None
    latency_us: int | None
    key_id: str
    ciphertext: bytes | None = field(repr=False)
    ciphertext_hash: str
    prev_hash: str
    hash: str

    @property
    def erased(self) -> bool:
        return self.ciphertext is None


@dataclass(frozen=True)
class RecordHeader:
    """What an auditor sees without content."""

    seq: int
    time: datetime
    kind: str
    tenant: str | None
    principal: str | None
    role: str | None
    model: str | None
    request_id: str | None
    subject_ref: str | None
    decision: str
    entity_counts: dict[str, int]
    usage: dict[str, int] | None
    latency_ms: float | None
    key_id: str
    ciphertext_hash: str
    prev_hash: str
    hash: str
    erased: bool


@dataclass(frozen=True)
class RecordView:
    """One record; ``content`` is the decrypted payload when asked for and still available."""

    header: RecordHeader
    content: Any = field(default=None, repr=False)
    content_included: bool = False
    content_status: str = "not_requested"  # ok | not_requested | erased | key_unavailable | integrity_error


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, ASCII only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def encode_counts(counts: Mapping[str, int] | None) -> str | None:
    """Canonical text of a count map (validated: string keys, integer values)."""
    if counts is None:
        return None
    clean: dict[str, int] = {}
    for key, value in counts.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("counts must map str to int")
        clean[key] = value
    return canonical_json(clean).decode()


def header_fields(record: StoredRecord, *, with_ciphertext_hash: bool = True) -> dict[str, Any]:
    """The hashed header of a record as a plain dict."""
    fields: dict[str, Any] = {
        "seq": record.seq,
        "ts_us": record.ts_us,
        "kind": record.kind,
        "tenant": record.tenant,
        "principal": record.principal,
        "role": record.role,
        "model": record.model,
        "request_id": record.request_id,
        "subject_ref": record.subject_ref,
        "decision": record.decision,
        "entity_counts": record.entity_counts,
        "usage": record.usage,
        "latency_us": record.latency_us,
        "key_id": record.key_id,
        "prev_hash": record.prev_hash,
    }
    if with_ciphertext_hash:
        fields["ciphertext_hash"] = record.ciphertext_hash
    return fields


def record_hash(record: StoredRecord) -> str:
    """The hash a record must carry: over its canonical header, which includes the ciphertext's hash."""
    return hashlib.sha256(_HASH_TAG + canonical_json(header_fields(record))).hexdigest()


def record_aad(record: StoredRecord) -> bytes:
    """Associated data of the payload encryption: the header without the ciphertext hash."""
    return _AAD_TAG + canonical_json(header_fields(record, with_ciphertext_hash=False))


def ciphertext_digest(ciphertext: bytes) -> str:
    return hashlib.sha256(ciphertext).hexdigest()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_from_us(ts_us: int) -> datetime:
    """Exact inverse of :func:`us_from_time` (no float rounding)."""
    return _EPOCH + timedelta(microseconds=ts_us)


def us_from_time(value: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_header(record: StoredRecord) -> RecordHeader:
    """The auditor's view of a stored row."""
    return RecordHeader(
        seq=record.seq,
        time=time_from_us(record.ts_us),
        kind=record.kind,
        tenant=record.tenant,
        principal=record.principal,
        role=record.role,
        model=record.model,
        request_id=record.request_id,
        subject_ref=record.subject_ref,
        decision=record.decision,
        entity_counts=json.loads(record.entity_counts),
        usage=json.loads(record.usage) if record.usage is not None else None,
        latency_ms=record.latency_us / 1000 if record.latency_us is not None else None,
        key_id=record.key_id,
        ciphertext_hash=record.ciphertext_hash,
        prev_hash=record.prev_hash,
        hash=record.hash,
        erased=record.erased,
    )


def record_to_dict(record: StoredRecord) -> dict[str, Any]:
    """Header columns plus ``hash`` (no ciphertext), as written into export bundles."""
    return {**header_fields(record), "hash": record.hash}


def record_from_dict(data: Mapping[str, Any]) -> StoredRecord:
    """Inverse of :func:`record_to_dict` (the ciphertext is absent)."""
    return StoredRecord(
        seq=int(data["seq"]),
        ts_us=int(data["ts_us"]),
        kind=data["kind"],
        tenant=data["tenant"],
        principal=data["principal"],
        role=data["role"],
        model=data["model"],
        request_id=data["request_id"],
        subject_ref=data["subject_ref"],
        decision=data["decision"],
        entity_counts=data["entity_counts"],
        usage=data["usage"],
        latency_us=data["latency_us"],
        key_id=data["key_id"],
        ciphertext=None,
        ciphertext_hash=data["ciphertext_hash"],
        prev_hash=data["prev_hash"],
        hash=data["hash"],
    )
