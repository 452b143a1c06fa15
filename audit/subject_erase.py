"""Erasure on request (GDPR Art. 17): a data subject by id, or records by seq.

A subject's erasure destroys its data key (crypto-shredding) and clears the ciphertext of its
records not sealed under that key, leaving tombstones (headers and hashes), and appends a signed
``dsr.erase`` erasure record in the same transaction (:meth:`audit.store.AuditLog.erase`). That
record carries the subject's keyed reference, never its id. The caller gets a receipt signed with
the log's key: subject reference, time, number of records, key ids destroyed, the erasure record.

Refused with :class:`~audit.dsr_errors.UnderLegalHold` (naming the hold) when an active hold names
the subject or covers any of its records; then nothing is erased.

Records appended for the same subject after the erasure committed are new processing: they are
sealed under a new data key (the writer never reuses a deleted one) and a later erasure removes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from audit.dsr_common import Actor, aware, check_subject_id
from audit.dsr_errors import InvalidDsrRequest, UnderLegalHold
from audit.dsr_signing import RECEIPT_TAG, SignatureCheck, check_document, sign_document
from audit.eraser import ErasureSummary
from audit.erasure import seq_ranges
from audit.errors import AuditUnavailable
from audit.holds import Hold, first_covering, holds_on_subject, list_holds
from audit.rows import integer_seq
from audit.schema import records as records_table

if TYPE_CHECKING:
    from audit.store import AuditLog

ERASE_KIND = "dsr.erase"
MAX_RECORDS_PER_REQUEST = 10_000


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


async def _rows(audit: AuditLog, *conditions: Any) -> list[tuple[int, int, str | None, str | None]]:
    r = records_table.c
    try:
        async with audit.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(r.seq, r.ts_us, r.subject_ref, r.tenant).where(
                        r.ciphertext.is_not(None), integer_seq(conn.dialect.name), *conditions
                    )
                )
            ).all()
    except Exception:
        raise AuditUnavailable("the audit log cannot be read") from None
    return [(int(seq), int(ts), ref, tenant) for seq, ts, ref, tenant in rows]


def _refuse_if_held(holds: Sequence[Hold], rows: Sequence[tuple[int, int, str | None, str | None]]) -> None:
    for _seq, ts_us, ref, tenant in rows:
        hold = first_covering(holds, ref, ts_us, tenant)
        if hold is not None:
            raise UnderLegalHold(hold.hold_id)


def _receipt(audit: AuditLog, now: datetime, body: dict[str, Any]) -> ErasureReceipt:
    document = {"format": "dsr-erasure-receipt-v1", "time": aware(now).isoformat(), **body}
    return ErasureReceipt(sign_document(audit.signer, RECEIPT_TAG, document))


async def erase_subject(audit: AuditLog, subject_id: str, now: datetime, actor: Actor) -> ErasureReceipt:
    """Erase every record of the subject ``subject_id`` (see the module docstring) and return the
    signed receipt. An unknown subject gets a receipt for zero records (its erasure is recorded
    too). Raises InvalidDsrRequest, UnderLegalHold, AuditUnavailable."""
    subject_ref = audit.subject_ref(check_subject_id(subject_id))
    holds = await list_holds(audit)
    named = holds_on_subject(holds, subject_ref)
    if named is not None:
        raise UnderLegalHold(named.hold_id)
    _refuse_if_held(holds, await _rows(audit, records_table.c.subject_ref == subject_ref))
    summary = await audit.erase(
        scopes=(f"s:{subject_ref}",),
        subject_ref=subject_ref,
        kind=ERASE_KIND,
        principal=actor.principal,
        role=actor.role,
        tenant=actor.tenant,
        request_id=actor.request_id,
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


async def erase_records(audit: AuditLog, seqs: Sequence[int], now: datetime, actor: Actor) -> ErasureReceipt:
    """Clear the content of the records ``seqs`` (found with :func:`audit.subject_find.find_value`)
    with one ``dsr.erase`` erasure record, and return the signed receipt. Raises
    InvalidDsrRequest (no seqs, a seq that is not a positive integer, too many), UnderLegalHold,
    AuditUnavailable."""
    if not seqs:
        raise InvalidDsrRequest("name at least one record", "records")
    if len(seqs) > MAX_RECORDS_PER_REQUEST:
        raise InvalidDsrRequest(f"at most {MAX_RECORDS_PER_REQUEST} records per request", "records")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in seqs):
        raise InvalidDsrRequest("record seqs must be positive integers", "records")
    wanted = sorted(set(seqs))
    rows = await _rows(audit, records_table.c.seq.in_(wanted))
    _refuse_if_held(await list_holds(audit), rows)
    summary = await audit.erase(
        seq_ranges=seq_ranges(wanted),
        kind=ERASE_KIND,
        principal=actor.principal,
        role=actor.role,
        tenant=actor.tenant,
        request_id=actor.request_id,
    )
    return _receipt(audit, now, _body("records", None, summary))


def verify_receipt(document: Any, public_key: bytes | None = None) -> SignatureCheck:
    """Check an erasure receipt's signature (and, with ``public_key``, that it is the gateway's)."""
    return check_document(RECEIPT_TAG, document, public_key)
