"""Erasure on request (GDPR Art. 17): a data subject by id, or records by seq.

A subject's erasure destroys its data key (crypto-shredding) and clears the ciphertext of its
records not sealed under that key, leaving tombstones (headers and hashes), and appends a signed
``dsr.erase`` erasure record in the same transaction (:meth:`audit.store.AuditLog.erase`). That
record carries the subject's keyed reference, never its id. The caller gets a receipt signed with
the log's key: subject reference, time, number of records, key ids destroyed, the erasure record.

Refused with :class:`~audit.dsr_errors.UnderLegalHold` (naming the hold) when an active hold names
the subject or covers any of its records; then nothing is erased. Holds are checked inside the
erasure's locked transaction (:meth:`audit.store.AuditLog.erase`'s ``guard``), so a hold placed
while the erasure waited for the lock still stops it.

Records appended for the same subject after the erasure committed are new processing: they are
sealed under a new data key (the writer never reuses a deleted one) and a later erasure removes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.dsr_common import Actor, aware, check_subject_id
from audit.dsr_errors import InvalidDsrRequest, UnderLegalHold
from audit.dsr_signing import RECEIPT_TAG, SignatureCheck, check_document, sign_document
from audit.eraser import ErasureGuard, ErasureSummary
from audit.erasure import seq_ranges
from audit.errors import AuditError, AuditUnavailable
from audit.holds import Hold, first_covering, holds_on_subject, read_holds
from audit.rows import integer_seq
from audit.schema import records as records_table

if TYPE_CHECKING:
    from audit.store import AuditLog

ERASE_KIND = "dsr.erase"
MAX_RECORDS_PER_REQUEST = 10_000


class RecordsOfAnotherTenant(AuditError):
    """A tenant-bound erasure found records of another tenant (or of none): nothing was erased."""

    def __init__(self) -> None:
        super().__init__("refused: the records include another tenant's")


@dataclass(frozen=True)
class ErasureReceipt:
    """The signed receipt of an erasure (``document`` is what the caller keeps)."""

    document: dict[str, Any]

    @property
    def erasure_seq(self) -> int:
        return int(self.document["erasure_seq"])

    @property
    def records_erased(self) -> int:
        return int(self.document["records_erased"])

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self.document["key_ids"])


_Row = tuple[int, int, str | None, str | None]


async def _rows_on(conn: AsyncConnection, *conditions: Any) -> list[_Row]:
    r = records_table.c
    rows = (
        await conn.execute(
            select(r.seq, r.ts_us, r.subject_ref, r.tenant).where(
                r.ciphertext.is_not(None), integer_seq(conn.dialect.name), *conditions
            )
        )
    ).all()
    return [(int(seq), int(ts), ref, tenant) for seq, ts, ref, tenant in rows]


async def record_tenants(audit: AuditLog, *conditions: Any) -> dict[int, str | None]:
    """Seq -> tenant of the records with content matching ``conditions`` (the route checks the
    caller's tenant against these before an export or an erasure). Raises AuditUnavailable."""
    try:
        async with audit.engine.connect() as conn:
            rows = await _rows_on(conn, *conditions)
    except Exception:
        raise AuditUnavailable("the audit log cannot be read") from None
    return {seq: tenant for seq, _ts, _ref, tenant in rows}


async def subject_tenants(audit: AuditLog, subject_id: str) -> set[str | None]:
    """The tenants of the subject's records that still hold content (raises InvalidDsrRequest for
    a malformed id, AuditUnavailable)."""
    subject_ref = audit.subject_ref(check_subject_id(subject_id))
    return set((await record_tenants(audit, records_table.c.subject_ref == subject_ref)).values())


async def seq_tenants(audit: AuditLog, seqs: Sequence[int]) -> dict[int, str | None]:
    """Seq -> tenant of those of ``seqs`` that still hold content (at most
    MAX_RECORDS_PER_REQUEST seqs; raises InvalidDsrRequest beyond, AuditUnavailable)."""
    wanted = _checked_seqs(seqs)
    return await record_tenants(audit, records_table.c.seq.in_(wanted))


def _refuse_if_held(holds: Sequence[Hold], rows: Sequence[_Row], tenant_only: str | None) -> None:
    if tenant_only is not None and any(tenant != tenant_only for _seq, _ts, _ref, tenant in rows):
        raise RecordsOfAnotherTenant()
    for _seq, ts_us, ref, tenant in rows:
        hold = first_covering(holds, ref, ts_us, tenant)
        if hold is not None:
            raise UnderLegalHold(hold.hold_id)


def _receipt(audit: AuditLog, now: datetime, body: dict[str, Any]) -> ErasureReceipt:
    document = {"format": "dsr-erasure-receipt-v1", "time": aware(now).isoformat(), **body}
    return ErasureReceipt(sign_document(audit.signer, RECEIPT_TAG, document))


async def erase_subject(
    audit: AuditLog, subject_id: str, now: datetime, actor: Actor, *, tenant_only: str | None = None
) -> ErasureReceipt:
    """Erase every record of the subject ``subject_id`` (see the module docstring) and return the
    signed receipt. An unknown subject gets a receipt for zero records (its erasure is recorded
    too). With ``tenant_only`` (a tenant-bound caller), refused with RecordsOfAnotherTenant when
    any of the subject's records with content is not that tenant's, checked under the lock like
    the holds. Raises InvalidDsrRequest, UnderLegalHold, RecordsOfAnotherTenant, AuditUnavailable."""
    subject_ref = audit.subject_ref(check_subject_id(subject_id))

    async def no_hold(conn: AsyncConnection) -> None:
        holds = await read_holds(conn)
        named = holds_on_subject(holds, subject_ref)
        if named is not None:
            raise UnderLegalHold(named.hold_id)
        _refuse_if_held(holds, await _rows_on(conn, records_table.c.subject_ref == subject_ref), tenant_only)

    summary = await audit.erase(
        scopes=(f"s:{subject_ref}",),
        subject_ref=subject_ref,
        kind=ERASE_KIND,
        principal=actor.principal,
        role=actor.role,
        tenant=actor.tenant,
        request_id=actor.request_id,
        guard=no_hold,
    )
    return _receipt(audit, now, _body("subject", subject_ref, summary))


def _body(scope: str, subject_ref: str | None, summary: ErasureSummary) -> dict[str, Any]:
    return {
        "scope": scope,
        "subject_ref": subject_ref,
        "records_erased": summary.records_erased,
        "key_ids": list(summary.key_ids),
        "seqs": [list(pair) for pair in summary.seq_ranges],
        "erasure_seq": summary.seq,
        "erasure_hash": summary.hash,
    }


async def erase_records(
    audit: AuditLog, seqs: Sequence[int], now: datetime, actor: Actor, *, tenant_only: str | None = None
) -> ErasureReceipt:
    """Clear the content of the records ``seqs`` (found with :func:`audit.subject_find.find_value`)
    with one ``dsr.erase`` erasure record, and return the signed receipt. Raises
    InvalidDsrRequest (no seqs, a seq that is not a positive integer, too many), UnderLegalHold,
    RecordsOfAnotherTenant (with ``tenant_only``, as :func:`erase_subject`), AuditUnavailable."""
    wanted = _checked_seqs(seqs)
    guard = _records_not_held(wanted, tenant_only)
    summary = await audit.erase(
        seq_ranges=seq_ranges(wanted),
        kind=ERASE_KIND,
        principal=actor.principal,
        role=actor.role,
        tenant=actor.tenant,
        request_id=actor.request_id,
        guard=guard,
    )
    return _receipt(audit, now, _body("records", None, summary))


def _checked_seqs(seqs: Sequence[int]) -> list[int]:
    if not seqs:
        raise InvalidDsrRequest("name at least one record", "records")
    if len(seqs) > MAX_RECORDS_PER_REQUEST:
        raise InvalidDsrRequest(f"at most {MAX_RECORDS_PER_REQUEST} records per request", "records")
    if not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s < 2**63 for s in seqs):
        raise InvalidDsrRequest("record seqs must be positive integers", "records")
    return sorted(set(seqs))


def _records_not_held(wanted: Sequence[int], tenant_only: str | None) -> ErasureGuard:
    async def guard(conn: AsyncConnection) -> None:
        rows = await _rows_on(conn, records_table.c.seq.in_(wanted))
        _refuse_if_held(await read_holds(conn), rows, tenant_only)

    return guard


def verify_receipt(document: Any, public_key: bytes | None = None) -> SignatureCheck:
    """Check an erasure receipt's signature (and, with ``public_key``, that it is the gateway's)."""
    return check_document(RECEIPT_TAG, document, public_key)
