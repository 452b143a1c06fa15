"""Typed bodies of the admin and audit routes: what they accept and what they answer.

Requests are decoded and checked by Litestar (msgspec) before a handler runs; a value that does
not fit is a 400 naming the field (``gateway.errors``). Answers are built from the library
objects here, with times as ISO 8601 text (``datetime.isoformat``), as the routes always sent.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import msgspec

from audit.export import ExportSummary
from audit.records import RecordHeader, RecordView
from audit.verify import VerifyReport
from gateway.auth.keys import KeyRecord

# Bounds of the admin and audit routes' parameters.
KEY_PAGE_MAX = 500
RECORD_PAGE_MAX = 1000
KEY_EXPIRY_MAX_DAYS = 36500
FILTER_MAX_CHARS = 256

KeyPageLimit = Annotated[int, msgspec.Meta(ge=1, le=KEY_PAGE_MAX)]
RecordPageLimit = Annotated[int, msgspec.Meta(ge=1, le=RECORD_PAGE_MAX)]
FilterText = Annotated[str, msgspec.Meta(max_length=FILTER_MAX_CHARS)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Anything that could be a time; parsed by the route, so a bad one names the field.
TimeText = Annotated[str, msgspec.Meta(max_length=64)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ----------------------------------------------------------------------------- admin: keys


class KeyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /admin/keys``: a new key's name, roles, and optional tenant, expiry and models."""

    name: ShortText
    roles: Annotated[list[ShortText], msgspec.Meta(max_length=32)]
    tenant: ShortText | None = None
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=KEY_EXPIRY_MAX_DAYS)] | None = None
    models: Annotated[list[ShortText], msgspec.Meta(max_length=100)] | None = None


class KeyOut(msgspec.Struct, frozen=True):
    """An API key without any secret or hash."""

    id: str
    prefix: str
    name: str
    roles: list[str]
    tenant: str | None
    models: list[str] | None
    status: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    rotated_at: str | None
    previous_valid_until: str | None


class KeyWithSecret(KeyOut, frozen=True):
    """A key just created or rotated: the plaintext is in this answer only."""

    key: str


class KeyPage(msgspec.Struct, frozen=True):
    """One page of keys, oldest first; ``next_cursor`` is the last id when there are more."""

    data: list[KeyOut]
    next_cursor: str | None


class PolicyReloaded(msgspec.Struct, frozen=True):
    """The digests of the policy now in force and of the one it replaced."""

    status: str
    digest: str
    previous_digest: str


def key_out(record: KeyRecord) -> KeyOut:
    """The answer's view of ``record``."""
    return KeyOut(
        id=record.id,
        prefix=record.prefix,
        name=record.name,
        roles=list(record.roles),
        tenant=record.tenant,
        models=list(record.models) if record.models is not None else None,
        status=record.status(),
        created_at=_iso(record.created_at),
        expires_at=_iso(record.expires_at),
        revoked_at=_iso(record.revoked_at),
        rotated_at=_iso(record.rotated_at),
        previous_valid_until=_iso(record.previous_valid_until),
    )


def key_with_secret(record: KeyRecord, plaintext: str) -> KeyWithSecret:
    """The answer's view of a key and its new secret."""
    return KeyWithSecret(**msgspec.structs.asdict(key_out(record)), key=plaintext)


# ----------------------------------------------------------------------------- audit


class ExportRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /audit/export``: an optional time range, and whether to include decrypted content."""

    since: TimeText | None = None
    until: TimeText | None = None
    with_content: bool = False


class RecordHeaderOut(msgspec.Struct, frozen=True):
    """A record's header: ids, kinds, decisions, counts and chain hashes, never content."""

    seq: int
    time: str | None
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
    erases: dict[str, Any] | None
    integrity_error: bool


class RecordPageOut(msgspec.Struct, frozen=True):
    """One page of record headers and the cursor of the next one."""

    data: list[RecordHeaderOut]
    next_cursor: str | None


class RecordOut(msgspec.Struct, frozen=True):
    """One record; ``content`` only when the caller may read content and it is still there."""

    header: RecordHeaderOut
    content: Any
    content_included: bool
    content_status: str


class VerifyOut(msgspec.Struct, frozen=True):
    """The whole verification report (callers with no tenant binding)."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    checkpoints_checked: int
    head_seq: int
    head_hash: str
    erased: int
    authenticated: int
    external_checkpoints: int
    problems: list[str]
    erasure_records: int


class TenantVerifyOut(msgspec.Struct, frozen=True):
    """What a tenant-bound auditor learns: intact or not, and its own first bad record."""

    ok: bool
    scope: str
    first_bad_seq: int | None
    reason: str | None


def header_out(header: RecordHeader) -> RecordHeaderOut:
    """The answer's view of a record header."""
    return RecordHeaderOut(
        seq=header.seq,
        time=_iso(header.time),
        kind=header.kind,
        tenant=header.tenant,
        principal=header.principal,
        role=header.role,
        model=header.model,
        request_id=header.request_id,
        subject_ref=header.subject_ref,
        decision=header.decision,
        entity_counts=dict(header.entity_counts),
        usage=dict(header.usage) if header.usage is not None else None,
        latency_ms=header.latency_ms,
        key_id=header.key_id,
        ciphertext_hash=header.ciphertext_hash,
        prev_hash=header.prev_hash,
        hash=header.hash,
        erased=header.erased,
        erases=header.erases,
        integrity_error=header.integrity_error,
    )


def record_out(view: RecordView) -> RecordOut:
    """The answer's view of one record."""
    return RecordOut(
        header=header_out(view.header),
        content=view.content,
        content_included=view.content_included,
        content_status=view.content_status,
    )


def verify_out(report: VerifyReport) -> VerifyOut:
    """The answer's view of a verification report."""
    fields = asdict(report)
    fields["problems"] = list(report.problems)
    return msgspec.convert({name: fields[name] for name in VerifyOut.__struct_fields__}, VerifyOut)


def export_summary_fields(summary: ExportSummary) -> dict[str, Any]:
    """An export summary as audit-record fields (the bundle stays with the caller: no path)."""
    fields = asdict(summary)
    fields["path"] = str(summary.path) if summary.path is not None else None
    return fields
