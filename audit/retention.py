"""Retention runs: remove the content of records past their kind's maximum age.

Two ways, both through :meth:`audit.store.AuditLog.erase` (so every batch appends a signed
``retention.run`` erasure record and ``verify`` keeps passing):

* a per-day data key (``d:<date>``, records written without a subject) is destroyed when every
  record still sealed under it has expired and none is held: one key deletion removes the lot;
* otherwise the expired records' ciphertext is cleared, by exact seq ranges.

Work goes in batches of ``batch_size`` records, each its own short transaction, so the gateway
keeps serving between them; holds are read again before every batch, so a hold placed during a
run protects what it covers from the next batch on. Records younger than their kind's minimum,
records of kinds without a maximum and held records keep their content. A dry run changes nothing
and reports what would go. Every run ends with its own ``retention.run`` record (counts only).

The policy comes in as anything with ``limits_for(kind) -> (min_days, max_days)``
(:class:`policies.retention.RetentionPolicy`); the audit package does not import policies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from audit.dsr_common import Actor, aware, record_operation, us_of
from audit.erasure import seq_ranges
from audit.errors import AuditUnavailable
from audit.holds import Hold, first_covering, list_holds
from audit.rows import integer_seq
from audit.schema import deks as deks_table
from audit.schema import records as records_table

if TYPE_CHECKING:
    from audit.store import AuditLog

RETENTION_KIND = "retention.run"
_DAY_US = 86_400_000_000
_PAGE = 5000

#: ``progress(phase, done, total)``: phases ``scan`` (records read), ``keys`` (day keys
#: destroyed), ``records`` (records cleared).
Progress = Callable[[str, int, int], None]


class RetentionLimits(Protocol):
    """The retention policy as a run needs it."""

    def limits_for(self, kind: str) -> tuple[int, int | None]:
        """``(min_days, max_days)`` of a record kind; ``max_days`` None keeps it forever."""
        ...


@dataclass(frozen=True)
class RetentionReport:
    """What a run removed (or, dry, would remove). Counts, key scopes and seqs only."""

    dry_run: bool
    now: datetime
    scanned: int
    expired_by_kind: dict[str, int]
    held: int
    day_keys: tuple[str, ...]  # scopes (d:<date>) destroyed / to destroy
    records_in_day_keys: int
    records_cleared: int  # records cleared one by one (not under a destroyed key)
    erasure_seqs: tuple[int, ...] = ()
    record_seq: int | None = None  # this run's own retention.run record

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "now": self.now.isoformat(),
            "scanned": self.scanned,
            "expired_by_kind": dict(self.expired_by_kind),
            "held": self.held,
            "day_keys": list(self.day_keys),
            "records_in_day_keys": self.records_in_day_keys,
            "records_cleared": self.records_cleared,
            "erasure_seqs": list(self.erasure_seqs),
            "record_seq": self.record_seq,
        }


@dataclass
class _KeyState:
    scope: str
    live: int = 0  # records still holding content under this key
    removable: int = 0  # of those, expired and not held
    seqs: list[int] = field(default_factory=list)


@dataclass
class _Plan:
    scanned: int = 0
    held: int = 0
    expired_by_kind: dict[str, int] = field(default_factory=dict)
    keys: dict[str, _KeyState] = field(default_factory=dict)  # key id -> state (day keys only)
    loose: list[int] = field(default_factory=list)  # expired seqs under other keys


def expired(limits: RetentionLimits, kind: str, ts_us: int, now_us: int) -> bool:
    """Whether a record of ``kind`` written at ``ts_us`` is past its maximum (and its minimum)."""
    min_days, max_days = limits.limits_for(kind)
    if max_days is None:
        return False
    age = now_us - ts_us
    return age > max_days * _DAY_US and age >= min_days * _DAY_US


def _day_before(scope: str, now: datetime) -> bool:
    """A ``d:<date>`` scope of a day that ended before ``now`` (its key takes no more records)."""
    try:
        day = datetime.strptime(scope[2:], "%Y-%m-%d").date()
    except ValueError:
        return False
    return day < aware(now).date()


async def _plan(
    audit: AuditLog, limits: RetentionLimits, now: datetime, holds: Sequence[Hold], progress: Progress | None
) -> _Plan:
    now_us = us_of(now)
    r, d = records_table.c, deks_table.c
    plan = _Plan()
    try:
        async with audit.engine.connect() as conn:
            day_keys = {
                str(key_id): str(scope)
                for key_id, scope in (
                    await conn.execute(select(d.key_id, d.scope).where(d.scope.like("d:%")))
                ).all()
                if _day_before(str(scope), now)
            }
            plan.keys = {key_id: _KeyState(scope) for key_id, scope in day_keys.items()}
            total = int((await conn.execute(select(r.seq).order_by(r.seq.desc()).limit(1))).scalar() or 0)
            last = 0
            integer = integer_seq(conn.dialect.name)
            while True:
                rows = (
                    await conn.execute(
                        select(r.seq, r.ts_us, r.kind, r.subject_ref, r.tenant, r.key_id)
                        .where(r.seq > last, r.ciphertext.is_not(None), integer)
                        .order_by(r.seq)
                        .limit(_PAGE)
                    )
                ).all()
                await conn.rollback()  # one short read transaction per page
                if not rows:
                    break
                for seq, ts_us, kind, subject_ref, tenant, key_id in rows:
                    _classify(
                        plan,
                        limits,
                        holds,
                        now_us,
                        int(seq),
                        int(ts_us),
                        str(kind),
                        subject_ref,
                        tenant,
                        str(key_id),
                    )
                last = int(rows[-1][0])
                if progress is not None:
                    progress("scan", last, total)
    except Exception:
        raise AuditUnavailable("the audit log cannot be read for retention") from None
    return plan


def _classify(
    plan: _Plan,
    limits: RetentionLimits,
    holds: Sequence[Hold],
    now_us: int,
    seq: int,
    ts_us: int,
    kind: str,
    subject_ref: str | None,
    tenant: str | None,
    key_id: str,
) -> None:
    plan.scanned += 1
    state = plan.keys.get(key_id)
    if state is not None:
        state.live += 1
    if not expired(limits, kind, ts_us, now_us):
        return
    if first_covering(holds, subject_ref, ts_us, tenant) is not None:
        plan.held += 1
        return
    plan.expired_by_kind[kind] = plan.expired_by_kind.get(kind, 0) + 1
    if state is not None:
        state.removable += 1
        state.seqs.append(seq)
    else:
        plan.loose.append(seq)


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def run_retention(
    audit: AuditLog,
    policy: RetentionLimits,
    now: datetime,
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    holds: Sequence[Hold] | None = None,
    progress: Progress | None = None,
    actor: Actor | None = None,
) -> RetentionReport:
    """Remove (or, with ``dry_run``, report) the content of every record past its kind's maximum
    age at ``now`` that no hold covers; see the module docstring. ``holds`` None reads the
    active holds from the log (and again before each batch). Raises AuditUnavailable when the log
    cannot be read or an erasure cannot be made (what earlier batches removed stays removed and
    declared)."""
    actor = actor or Actor(principal="retention", role="system")
    batch_size = max(1, batch_size)
    fixed_holds = holds
    current = list(holds) if holds is not None else await list_holds(audit)
    plan = await _plan(audit, policy, now, current, progress)
    whole = {kid: s for kid, s in plan.keys.items() if s.removable == s.live}
    partial = sorted(plan.loose + [seq for kid, s in plan.keys.items() if kid not in whole for seq in s.seqs])
    in_keys = sum(s.live for s in whole.values())
    erasure_seqs: list[int] = []
    cleared = 0
    if not dry_run:
        key_batches: list[list[_KeyState]] = [[]]
        for state in sorted(whole.values(), key=lambda s: s.scope):
            if key_batches[-1] and sum(s.live for s in key_batches[-1]) + state.live > batch_size:
                key_batches.append([])
            key_batches[-1].append(state)
        done = 0
        for batch in (b for b in key_batches if b):
            current = list(fixed_holds) if fixed_holds is not None else await list_holds(audit)
            batch = [s for s in batch if not await _held_now(audit, s.seqs, current)]
            if batch:
                summary = await audit.erase(
                    scopes=[s.scope for s in batch],
                    kind=RETENTION_KIND,
                    principal=actor.principal,
                    role=actor.role,
                    tenant=actor.tenant,
                    request_id=actor.request_id,
                )
                erasure_seqs.append(summary.seq)
            done += len(batch)
            if progress is not None:
                progress("keys", done, len(whole))
            await asyncio.sleep(0)
        for chunk in _batches(partial, batch_size):
            current = list(fixed_holds) if fixed_holds is not None else await list_holds(audit)
            keep = await _held_seqs(audit, chunk, current)
            targets = [seq for seq in chunk if seq not in keep]
            if targets:
                summary = await audit.erase(
                    seq_ranges=seq_ranges(targets),
                    kind=RETENTION_KIND,
                    principal=actor.principal,
                    role=actor.role,
                    tenant=actor.tenant,
                    request_id=actor.request_id,
                )
                erasure_seqs.append(summary.seq)
                cleared += summary.records_erased
            if progress is not None:
                progress("records", min(len(partial), cleared), len(partial))
            await asyncio.sleep(0)
    report = RetentionReport(
        dry_run=dry_run,
        now=aware(now),
        scanned=plan.scanned,
        expired_by_kind=dict(sorted(plan.expired_by_kind.items())),
        held=plan.held,
        day_keys=tuple(sorted(s.scope for s in whole.values())),
        records_in_day_keys=in_keys,
        records_cleared=cleared if not dry_run else len(partial),
        erasure_seqs=tuple(erasure_seqs),
    )
    receipt = await record_operation(
        audit,
        RETENTION_KIND,
        actor,
        {k: v for k, v in report.to_dict().items() if k != "record_seq"},
        decision="dry_run" if dry_run else "allow",
    )
    return replace(report, record_seq=receipt.seq)


async def _held_seqs(audit: AuditLog, seqs: Sequence[int], holds: Sequence[Hold]) -> set[int]:
    """Of ``seqs``, those a hold covers now (read again: a hold may have been placed meanwhile)."""
    if not holds or not seqs:
        return set()
    r = records_table.c
    async with audit.engine.connect() as conn:
        rows = (
            await conn.execute(select(r.seq, r.ts_us, r.subject_ref, r.tenant).where(r.seq.in_(list(seqs))))
        ).all()
    return {int(seq) for seq, ts_us, ref, tenant in rows if first_covering(holds, ref, int(ts_us), tenant)}


async def _held_now(audit: AuditLog, seqs: Sequence[int], holds: Sequence[Hold]) -> bool:
    return bool(await _held_seqs(audit, seqs, holds))
