"""Legal holds are checked inside the erasure's locked transaction: a hold placed while an
erasure waits for the append lock still stops it (SQLite file and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from test_dsr_retention import DPO, audit, content_of, exchange, later  # noqa: F401  (fixture)

import audit.eraser as eraser_module
from audit.dsr_errors import UnderLegalHold
from audit.holds import create_hold
from audit.store import AuditLog
from audit.subject_erase import erase_records, erase_subject


class LockGate:
    """Stands in front of the erasure's ``begin_locked``: tells the test the erasure is about
    to take the lock (all checks made before the lock are done), then waits for the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.waiting = asyncio.Event()
        self.proceed = asyncio.Event()
        real = eraser_module.begin_locked

        async def gated(conn: AsyncConnection) -> None:
            self.waiting.set()
            await self.proceed.wait()
            await real(conn)

        monkeypatch.setattr(eraser_module, "begin_locked", gated)


async def test_hold_created_while_a_subject_erasure_waits_for_the_lock_stops_it(
    audit: AuditLog,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await exchange(audit, "subject-A", 1, "Anna Weber")
    gate = LockGate(monkeypatch)
    erasure = asyncio.create_task(erase_subject(audit, "subject-A", later(0), DPO))
    await gate.waiting.wait()
    hold = await create_hold(audit, later(0), DPO, subject_id="subject-A")
    gate.proceed.set()
    with pytest.raises(UnderLegalHold) as refused:
        await erasure
    assert refused.value.hold_id == hold.hold_id
    assert isinstance(await content_of(audit, 1), dict)
    assert isinstance(await content_of(audit, 2), dict)
    kinds = {record.kind for record in await audit.read_range(1, 10**6)}
    assert "dsr.erase" not in kinds
    assert (await audit.verify()).ok


async def test_time_range_hold_created_while_a_record_erasure_waits_stops_it(
    audit: AuditLog,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await exchange(audit, None, 1, "Maria Gonzalez")
    gate = LockGate(monkeypatch)
    erasure = asyncio.create_task(erase_records(audit, [1, 2], later(0), DPO))
    await gate.waiting.wait()
    hold = await create_hold(audit, later(0), DPO, since=later(-1), until=later(1))
    gate.proceed.set()
    with pytest.raises(UnderLegalHold) as refused:
        await erasure
    assert refused.value.hold_id == hold.hold_id
    assert isinstance(await content_of(audit, 1), dict)


async def test_erasure_without_hold_passes_the_guard(
    audit: AuditLog,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await exchange(audit, "subject-A", 1, "Anna Weber")
    await create_hold(audit, later(0), DPO, subject_id="subject-B")  # another subject's hold
    gate = LockGate(monkeypatch)
    gate.proceed.set()
    receipt = await erase_subject(audit, "subject-A", later(0), DPO)
    assert gate.waiting.is_set() and receipt.records_erased == 2
    assert await content_of(audit, 1) in ("erased", "key_unavailable")
