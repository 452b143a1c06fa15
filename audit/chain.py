"""Turning validated events into chained, sealed records: pure code shared by every writer path.

The chain head (seq, hash, time of the newest record) comes in; the records that follow it come
out, each sealed under its scope's data key with its header as associated data. Nothing here
touches a database: the writers (:mod:`audit.writer`, :mod:`audit.sqlite_writer`,
:mod:`audit.pg_writer`) read the head under their append lock and insert what this returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from audit import crypto
from audit.datakeys import ScopeKeys
from audit.erasure import ErasureDeclaration
from audit.errors import AuditError
from audit.keyring import SubjectHasher
from audit.records import (
    GENESIS_HASH,
    AuditEvent,
    StoredRecord,
    ciphertext_digest,
    encode_counts,
    header_fields,
    record_aad,
    record_hash,
    time_from_us,
)
from audit.signing import Checkpoint, CheckpointSigner

_FIELD_LIMITS = {
    "kind": 64,
    "tenant": 128,
    "principal": 256,
    "role": 256,
    "model": 256,
    "request_id": 128,
    "decision": 32,
}


@dataclass(frozen=True)
class AppendReceipt:
    """The committed record: its seq, hash and time."""

    seq: int
    hash: str
    time: datetime


@dataclass(frozen=True)
class ChainHead:
    """The newest record's seq, hash and time (``EMPTY_HEAD`` for an empty log)."""

    seq: int
    hash: str
    ts_us: int


EMPTY_HEAD = ChainHead(0, GENESIS_HASH, 0)


@dataclass
class Pending:
    """An event validated and encoded, waiting for its seq."""

    values: dict[str, Any]
    scope: str
    plaintext: bytes = field(repr=False)
    future: asyncio.Future[AppendReceipt] = field(repr=False)
    erasure: ErasureDeclaration | None = None  # signed once the record's seq is known


def day_scope() -> str:
    """The scope of the data key for today's records without a subject."""
    return "d:" + datetime.now(UTC).strftime("%Y-%m-%d")


def receipt_of(record: StoredRecord) -> AppendReceipt:
    """The receipt of a stored record."""
    return AppendReceipt(record.seq, record.hash, time_from_us(record.ts_us))


def prepare_event(
    event: AuditEvent,
    subjects: SubjectHasher,
    *,
    subject_ref: str | None = None,
    erasure: ErasureDeclaration | None = None,
) -> Pending:
    """Validate and encode ``event`` (raises AuditError naming the field, never its value).

    An erasure record passes the erased subject's ref itself (the subject id is not known) and is
    sealed under the day key, never under a subject key that a later erasure would delete."""
    for name, limit in _FIELD_LIMITS.items():
        value = getattr(event, name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise AuditError(f"audit field '{name}' must be a string of at most {limit} characters")
    try:
        counts = encode_counts(event.entity_counts) or "{}"
        usage = encode_counts(event.usage)
    except TypeError:
        raise AuditError("entity_counts and usage must map names to integers") from None
    if event.subject_id is not None:
        subject_ref = subjects.ref(event.subject_id)
    scope = f"s:{subject_ref}" if subject_ref and erasure is None else day_scope()
    values = {
        "kind": event.kind,
        "tenant": event.tenant,
        "principal": event.principal,
        "role": event.role,
        "model": event.model,
        "request_id": event.request_id,
        "subject_ref": subject_ref,
        "decision": event.decision,
        "entity_counts": counts,
        "usage": usage,
        "latency_us": round(event.latency_ms * 1000) if event.latency_ms is not None else None,
    }
    plaintext = crypto.encode_payload(dict(event.payload) if event.payload is not None else None)
    return Pending(values, scope, plaintext, asyncio.get_running_loop().create_future(), erasure)


def chain_records(
    items: Sequence[Pending], head: ChainHead, scope_keys: ScopeKeys, signer: CheckpointSigner, now_us: int
) -> list[StoredRecord]:
    """The records for ``items``, in order, chained onto ``head``: consecutive seqs, each record's
    ``prev_hash`` the hash before it, times never earlier than the head's, every payload sealed
    under its scope's key with the record's header as associated data."""
    seq, prev_hash, prev_ts = head.seq, head.hash, head.ts_us
    stored: list[StoredRecord] = []
    for item in items:
        seq += 1
        prev_ts = max(now_us, prev_ts)
        key_id, dek = scope_keys[item.scope]
        erases = item.erasure.signed(signer, seq, prev_hash).to_text() if item.erasure is not None else None
        draft = StoredRecord(
            seq=seq,
            ts_us=prev_ts,
            key_id=key_id,
            ciphertext=None,
            ciphertext_hash="",
            prev_hash=prev_hash,
            hash="",
            erases=erases,
            **item.values,
        )
        ciphertext = crypto.seal(dek, item.plaintext, record_aad(draft))
        draft = replace(draft, ciphertext=ciphertext, ciphertext_hash=ciphertext_digest(ciphertext))
        record = replace(draft, hash=record_hash(draft))
        stored.append(record)
        prev_hash = record.hash
    return stored


def head_after(head: ChainHead, stored: Sequence[StoredRecord]) -> ChainHead:
    """The head once ``stored`` is committed on top of ``head``."""
    if not stored:
        return head
    last = stored[-1]
    return ChainHead(last.seq, last.hash, last.ts_us)


def record_values(record: StoredRecord) -> dict[str, Any]:
    """Column values of ``record`` for an INSERT into ``audit_records``."""
    return {
        **header_fields(record),
        "erases": record.erases,
        "ciphertext": record.ciphertext,
        "hash": record.hash,
    }


def checkpoint_for(
    start_seq: int,
    head: ChainHead,
    signer: CheckpointSigner,
    every: int,
    now_us: int,
    *,
    now: bool = False,
) -> Checkpoint | None:
    """The checkpoint a transaction that moved the head from ``start_seq`` to ``head`` writes:
    one whenever it crossed a multiple of ``every``, or at once with ``now``."""
    step = max(1, every)
    if now or start_seq // step != head.seq // step:
        return signer.checkpoint(head.seq, head.hash, now_us)
    return None
