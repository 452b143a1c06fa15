"""Typed bodies of the data-subject and retention routes: what they accept and what they answer.

Decoded and checked by Litestar (msgspec) before a handler runs; a value that does not fit is a
400 naming the field, never echoing the value (``gateway.errors``): a subject id or a value to
find is personal data.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from audit.holds import Hold
from audit.retention import RetentionReport
from audit.subject_erase import MAX_RECORDS_PER_REQUEST
from audit.subject_find import MAX_VALUE_LENGTH
from gateway.schemas import TimeText

SubjectIdText = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
TenantText = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
BATCH_SIZE_MAX = 100_000


# ----------------------------------------------------------------------------- retention


class RetentionRunRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /admin/retention/run``: report only (``dry_run``) or remove; records per batch."""

    dry_run: bool = False
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=BATCH_SIZE_MAX)] = 1000


class RetentionRunOut(msgspec.Struct, frozen=True):
    """What a run removed (or, dry, would remove): counts, day-key scopes and seqs only."""

    dry_run: bool
    now: str
    scanned: int
    expired_by_kind: dict[str, int]
    held: int
    day_keys: list[str]
    records_in_day_keys: int
    records_cleared: int
    erasure_seqs: list[int]
    record_seq: int | None


def retention_out(report: RetentionReport) -> RetentionRunOut:
    """The answer's view of a retention report."""
    return msgspec.convert(report.to_dict(), RetentionRunOut)


# ----------------------------------------------------------------------------- export, find, erase


class SubjectExportOut(msgspec.Struct, frozen=True):
    """A subject's export as JSON: the decrypted records and the signed manifest. The manifest
    signs the files by hash; the form a recipient checks offline is the zip (``?format=zip``)."""

    subject_ref: str
    records: list[dict[str, Any]]
    manifest: dict[str, Any]


class FindRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /dsr/find``: a value to look for (personal data: a body field, never a query
    string) and an optional start time."""

    value: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_VALUE_LENGTH)]
    since: TimeText | None = None


class FindOut(msgspec.Struct, frozen=True):
    """The records whose decrypted content holds the value (seqs only), and what was read."""

    seqs: list[int]
    found: int
    scanned: int
    unreadable: int


class RecordsErase(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /dsr/records/erase``: the seqs to clear (as ``POST /dsr/find`` lists them)."""

    seqs: Annotated[list[Seq], msgspec.Meta(min_length=1, max_length=MAX_RECORDS_PER_REQUEST)]


# ----------------------------------------------------------------------------- holds


class HoldCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /dsr/holds``: a subject, a time range [since, until), or both; optionally one tenant."""

    subject_id: SubjectIdText | None = None
    since: TimeText | None = None
    until: TimeText | None = None
    tenant: TenantText | None = None


class HoldOut(msgspec.Struct, frozen=True):
    """A legal hold; a subject appears only as its keyed reference."""

    hold_id: str
    subject_ref: str | None
    since: str | None
    until: str | None
    tenant: str | None
    created: str
    created_by: str | None
    released: str | None
    released_by: str | None


class HoldList(msgspec.Struct, frozen=True):
    """Holds, oldest first."""

    data: list[HoldOut]


def hold_out(hold: Hold) -> HoldOut:
    """The answer's view of a hold."""
    return msgspec.convert(hold.to_dict(), HoldOut)
