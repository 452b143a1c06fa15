"""Audit records: the event the gateway hands in, the stored row, canonical header encoding and hashing.

A record's hash is SHA-256 over a domain tag and the canonical JSON of its header: every column
except the ciphertext itself, which is represented by its SHA-256 (``ciphertext_hash``). So a
record whose content was erased (ciphertext deleted, hash kept) still hashes the same; whether the
erasure was declared is checked separately (:mod:`audit.erasure`). The payload is encrypted with
the same header minus ``ciphertext_hash`` as associated data, which binds the content to its seq,
its place in the chain and every header field.

``erases`` (an erasure record's declaration) is part of the header only when it is set, so the
hash of every other record is what it was before the column existed.

Rows read from the database are decoded strictly (:func:`decode_row`): a column of the wrong
type is a :class:`DamagedRow` (tampering at that seq), never an exception that stops a reader.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

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
    erases: str | None = None  # an erasure record's declaration (canonical JSON), else None

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
    erases: dict[str, Any] | None = None  # what an erasure record declares it removed
    integrity_error: bool = False  # the stored row does not decode; fields that did not are placeholders


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
    if record.erases is not None:
        fields["erases"] = record.erases
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
    """The auditor's view of a stored row (decoded by :func:`decode_row`, so its JSON columns parse)."""
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
        erases=json.loads(record.erases) if record.erases is not None else None,
    )


def record_to_dict(record: StoredRecord) -> dict[str, Any]:
    """Header columns plus ``hash`` (no ciphertext), as written into export bundles."""
    return {**header_fields(record), "hash": record.hash}


def record_from_dict(data: Mapping[str, Any]) -> StoredRecord:
    """Inverse of :func:`record_to_dict` (the ciphertext is absent); raises RecordDecodeError."""
    if not isinstance(data, Mapping):
        raise RecordDecodeError("record", "a record must be an object")
    return _decode({**data, "ciphertext": None})


class RecordDecodeError(ValueError):
    """A stored or exported record whose ``column`` does not hold a value of its type."""

    def __init__(self, column: str, why: str) -> None:
        super().__init__(f"column {column}: {why}")
        self.column = column


@dataclass(frozen=True)
class DamagedRow:
    """A stored row that does not decode: tampering (or corruption) at ``seq``.

    ``seq`` is None when the seq itself does not decode; ``hash`` when the hash does."""

    seq: int | None
    column: str
    hash: str | None
    header: RecordHeader


_INT_COLUMNS = ("seq", "ts_us")
_TEXT_COLUMNS = ("kind", "decision", "entity_counts", "key_id", "ciphertext_hash", "prev_hash", "hash")
_OPTIONAL_TEXT_COLUMNS = (
    "tenant",
    "principal",
    "role",
    "model",
    "request_id",
    "subject_ref",
    "usage",
    "erases",
)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_counts(column: str, text: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        raise RecordDecodeError(column, "not JSON") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and _is_int(v) for k, v in value.items()):
        raise RecordDecodeError(column, "not a map of names to integers")


def _decode(data: Mapping[Any, Any]) -> StoredRecord:
    for column in _INT_COLUMNS:
        if not _is_int(data.get(column)):
            raise RecordDecodeError(column, "not an integer")
    for column in _TEXT_COLUMNS:
        if not isinstance(data.get(column), str):
            raise RecordDecodeError(column, "not text")
    for column in _OPTIONAL_TEXT_COLUMNS:
        if data.get(column) is not None and not isinstance(data[column], str):
            raise RecordDecodeError(column, "not text")
    latency = data.get("latency_us")
    if latency is not None and not _is_int(latency):
        raise RecordDecodeError("latency_us", "not an integer")
    ciphertext = data.get("ciphertext")
    if isinstance(ciphertext, bytearray | memoryview):
        ciphertext = bytes(ciphertext)
    if ciphertext is not None and not isinstance(ciphertext, bytes):
        raise RecordDecodeError("ciphertext", "not bytes")
    _check_counts("entity_counts", data["entity_counts"])
    if data.get("usage") is not None:
        _check_counts("usage", data["usage"])
    if data.get("erases") is not None:
        try:
            declaration = json.loads(data["erases"])
        except ValueError:
            raise RecordDecodeError("erases", "not JSON") from None
        if not isinstance(declaration, dict):
            raise RecordDecodeError("erases", "not an object")
    try:
        time_from_us(data["ts_us"])
    except OverflowError:
        raise RecordDecodeError("ts_us", "out of range") from None
    return StoredRecord(
        seq=data["seq"],
        ts_us=data["ts_us"],
        kind=data["kind"],
        tenant=data.get("tenant"),
        principal=data.get("principal"),
        role=data.get("role"),
        model=data.get("model"),
        request_id=data.get("request_id"),
        subject_ref=data.get("subject_ref"),
        decision=data["decision"],
        entity_counts=data["entity_counts"],
        usage=data.get("usage"),
        latency_us=latency,
        key_id=data["key_id"],
        ciphertext=ciphertext,
        ciphertext_hash=data["ciphertext_hash"],
        prev_hash=data["prev_hash"],
        hash=data["hash"],
        erases=data.get("erases"),
    )


def decode_row(data: Mapping[Any, Any]) -> StoredRecord | DamagedRow:
    """A database row (column name -> raw driver value) as a record, or as a DamagedRow."""
    try:
        return _decode(data)
    except RecordDecodeError as exc:
        seq = data.get("seq") if _is_int(data.get("seq")) else None
        return DamagedRow(
            seq=seq,
            column=exc.column,
            hash=data.get("hash") if isinstance(data.get("hash"), str) else None,
            header=_damaged_header(data, seq if seq is not None else 0),
        )


def _damaged_header(data: Mapping[Any, Any], seq: int) -> RecordHeader:
    """What can still be read of a damaged row; columns that do not decode become placeholders."""

    def text(column: str) -> str | None:
        value = data.get(column)
        return value if isinstance(value, str) else None

    def counts(column: str) -> dict[str, int] | None:
        value = text(column)
        try:
            if value is not None:
                _check_counts(column, value)
                parsed: dict[str, int] = json.loads(value)
                return parsed
        except RecordDecodeError:
            pass
        return None

    ts_us = data.get("ts_us")
    try:
        time = time_from_us(ts_us if _is_int(ts_us) else 0)
    except OverflowError:
        time = _EPOCH
    latency = data.get("latency_us")
    return RecordHeader(
        seq=seq,
        time=time,
        kind=text("kind") or "",
        tenant=text("tenant"),
        principal=text("principal"),
        role=text("role"),
        model=text("model"),
        request_id=text("request_id"),
        subject_ref=text("subject_ref"),
        decision=text("decision") or "",
        entity_counts=counts("entity_counts") or {},
        usage=counts("usage"),
        latency_ms=latency / 1000 if _is_int(latency) else None,
        key_id=text("key_id") or "",
        ciphertext_hash=text("ciphertext_hash") or "",
        prev_hash=text("prev_hash") or "",
        hash=text("hash") or "",
        erased=data.get("ciphertext") is None,
        integrity_error=True,
    )
