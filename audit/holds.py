"""Legal holds: records that neither a retention run nor a data-subject erasure may remove.

A hold names a data subject (by its keyed reference), a time range, or both, optionally narrowed
to one tenant; a hold on nothing (neither a subject nor a time range) is refused. A held record
keeps its content until every hold covering it is released. Holds live in ``audit_legal_holds``
(migration ``audit_0003``); creating and releasing one writes a ``dsr.hold`` record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.dsr_common import Actor, aware, check_subject_id, record_operation, us_of
from audit.dsr_errors import HoldNotFound, InvalidDsrRequest
from audit.errors import AuditError, AuditUnavailable
from audit.records import time_from_us

if TYPE_CHECKING:
    from audit.store import AuditLog

HOLD_KIND = "dsr.hold"

holds_table = Table(
    "audit_legal_holds",
    MetaData(),
    Column("hold_id", String(32), primary_key=True),
    Column("subject_ref", String(64)),
    Column("since_us", BigInteger),
    Column("until_us", BigInteger),
    Column("tenant", String(128)),
    Column("created_us", BigInteger, nullable=False),
    Column("created_by", String(256)),
    Column("released_us", BigInteger),
    Column("released_by", String(256)),
)


@dataclass(frozen=True)
class Hold:
    """One legal hold. ``since`` inclusive, ``until`` exclusive; None leaves that side open."""

    hold_id: str
    subject_ref: str | None
    since: datetime | None
    until: datetime | None
    tenant: str | None
    created: datetime
    created_by: str | None
    released: datetime | None = None
    released_by: str | None = None

    @property
    def active(self) -> bool:
        return self.released is None

    def covers(self, subject_ref: str | None, ts_us: int, tenant: str | None) -> bool:
        """Whether this (active) hold keeps a record with these header fields."""
        if not self.active:
            return False
        if self.subject_ref is not None and subject_ref != self.subject_ref:
            return False
        if self.tenant is not None and tenant != self.tenant:
            return False
        if self.since is not None and ts_us < us_of(self.since):
            return False
        return not (self.until is not None and ts_us >= us_of(self.until))

    def to_dict(self) -> dict[str, Any]:
        """Plain values for an API answer or the command line (no personal data: a subject
        appears only as its keyed reference)."""
        return {
            "hold_id": self.hold_id,
            "subject_ref": self.subject_ref,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "tenant": self.tenant,
            "created": self.created.isoformat(),
            "created_by": self.created_by,
            "released": self.released.isoformat() if self.released else None,
            "released_by": self.released_by,
        }


def first_covering(
    holds: Iterable[Hold], subject_ref: str | None, ts_us: int, tenant: str | None
) -> Hold | None:
    """The first active hold in ``holds`` that covers a record with these header fields."""
    for hold in holds:
        if hold.covers(subject_ref, ts_us, tenant):
            return hold
    return None


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else time_from_us(int(value))


def _hold_of(row: Row[Any]) -> Hold:
    m = row._mapping
    return Hold(
        hold_id=str(m["hold_id"]),
        subject_ref=m["subject_ref"],
        since=_opt_time(m["since_us"]),
        until=_opt_time(m["until_us"]),
        tenant=m["tenant"],
        created=time_from_us(int(m["created_us"])),
        created_by=m["created_by"],
        released=_opt_time(m["released_us"]),
        released_by=m["released_by"],
    )


def _holds_query(include_released: bool, tenant: str | None) -> Any:
    h = holds_table.c
    stmt = select(holds_table).order_by(h.created_us, h.hold_id)
    if not include_released:
        stmt = stmt.where(h.released_us.is_(None))
    if tenant is not None:
        stmt = stmt.where(h.tenant == tenant)
    return stmt


async def read_holds(conn: AsyncConnection) -> list[Hold]:
    """The active holds, read through ``conn`` (an erasure's guard reads them inside its locked
    transaction, so a hold committed while the erasure waited for the lock is seen)."""
    return [_hold_of(row) for row in (await conn.execute(_holds_query(False, None))).all()]


async def list_holds(
    audit: AuditLog, *, include_released: bool = False, tenant: str | None = None
) -> list[Hold]:
    """Holds, oldest first; active ones only unless ``include_released``; with ``tenant``, only
    holds bound to that tenant (the route narrows a tenant-bound caller this way)."""
    try:
        async with audit.engine.connect() as conn:
            rows = (await conn.execute(_holds_query(include_released, tenant))).all()
    except Exception:
        raise AuditUnavailable("legal holds cannot be read") from None
    return [_hold_of(row) for row in rows]


async def get_hold(audit: AuditLog, hold_id: str) -> Hold:
    """The hold ``hold_id`` (active or released); raises :class:`HoldNotFound` when there is none
    (a malformed id included)."""
    if not isinstance(hold_id, str) or not 0 < len(hold_id) <= 32:
        raise HoldNotFound("?")
    try:
        async with audit.engine.connect() as conn:
            row = (await conn.execute(select(holds_table).where(holds_table.c.hold_id == hold_id))).first()
    except Exception:
        raise AuditUnavailable("legal holds cannot be read") from None
    if row is None:
        raise HoldNotFound(hold_id)
    return _hold_of(row)


async def create_hold(
    audit: AuditLog,
    now: datetime,
    actor: Actor,
    *,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
) -> Hold:
    """Place a hold on a subject, a time range [since, until), or both (optionally one tenant's
    records only) and record it (``dsr.hold``). Raises :class:`InvalidDsrRequest` for a hold on
    nothing or an empty range; AuditUnavailable when it cannot be stored and recorded (then no
    hold exists)."""
    subject_ref = audit.subject_ref(check_subject_id(subject_id)) if subject_id is not None else None
    if subject_ref is None and since is None and until is None:
        raise InvalidDsrRequest("a legal hold must name a subject or a time range", "subject_id")
    if since is not None and until is not None and aware(since) >= aware(until):
        raise InvalidDsrRequest("a legal hold's time range must end after it starts", "until")
    if tenant is not None and (not isinstance(tenant, str) or not 0 < len(tenant) <= 128):
        raise InvalidDsrRequest("the tenant must be 1 to 128 characters", "tenant")
    hold = Hold(
        hold_id=uuid.uuid4().hex,
        subject_ref=subject_ref,
        since=aware(since) if since is not None else None,
        until=aware(until) if until is not None else None,
        tenant=tenant,
        created=aware(now),
        created_by=actor.principal,
    )
    values = {
        "hold_id": hold.hold_id,
        "subject_ref": subject_ref,
        "since_us": us_of(since) if since is not None else None,
        "until_us": us_of(until) if until is not None else None,
        "tenant": tenant,
        "created_us": us_of(now),
        "created_by": actor.principal,
    }
    try:
        async with audit.engine.begin() as conn:
            await conn.execute(holds_table.insert().values(**values))
    except Exception:
        raise AuditUnavailable("the legal hold cannot be stored") from None
    try:
        await record_operation(audit, HOLD_KIND, actor, {"action": "create", **hold.to_dict()})
    except AuditError:
        # Unrecorded holds must not exist: take it back, and fail.
        async with audit.engine.begin() as conn:
            await conn.execute(holds_table.delete().where(holds_table.c.hold_id == hold.hold_id))
        raise
    return hold


async def release_hold(audit: AuditLog, hold_id: str, now: datetime, actor: Actor) -> Hold:
    """Release an active hold and record it (``dsr.hold``); raises :class:`HoldNotFound` when no
    active hold has this id."""
    if not isinstance(hold_id, str) or not 0 < len(hold_id) <= 32:
        raise HoldNotFound("?")
    h = holds_table.c
    try:
        async with audit.engine.begin() as conn:
            result = await conn.execute(
                update(holds_table)
                .where(h.hold_id == hold_id, h.released_us.is_(None))
                .values(released_us=us_of(now), released_by=actor.principal)
            )
            released = int(result.rowcount) == 1
            row = (await conn.execute(select(holds_table).where(h.hold_id == hold_id))).first()
    except Exception:
        raise AuditUnavailable("the legal hold cannot be released") from None
    if not released or row is None:
        raise HoldNotFound(hold_id)
    hold = _hold_of(row)
    try:
        await record_operation(audit, HOLD_KIND, actor, {"action": "release", **hold.to_dict()})
    except AuditError:
        # An unrecorded release must not take effect: the hold stays active.
        async with audit.engine.begin() as conn:
            await conn.execute(
                update(holds_table).where(h.hold_id == hold_id).values(released_us=None, released_by=None)
            )
        raise
    return hold


def holds_on_subject(holds: Sequence[Hold], subject_ref: str) -> Hold | None:
    """An active hold naming this subject itself (whatever records it has now)."""
    return next((h for h in holds if h.active and h.subject_ref == subject_ref), None)
