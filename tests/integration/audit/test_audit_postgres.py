"""The audit log on the real PostgreSQL server, each test in its own schema: several writers
(separate engines, as separate processes would have) keep one linear chain; no plaintext in tables."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from audit_helpers import SUBJECT, event, make_settings
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.errors import AuditUnavailable
from audit.store import AuditLog, AuditSettings

pytestmark = pytest.mark.postgres


def pg_settings(tmp_path: Path, postgres_url: str, **overrides: object) -> AuditSettings:
    return make_settings(tmp_path, url=postgres_url, **overrides)


async def test_two_writers_on_one_database_keep_one_linear_chain_and_verify_during_appends(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    settings = pg_settings(tmp_path, postgres_url)
    first = await AuditLog.open(settings, engine=pg_engine_factory())
    second = await AuditLog.open(settings, engine=pg_engine_factory())

    async def write(log: AuditLog, base: int) -> list[int]:
        seqs: list[int] = []
        for i in range(10):
            receipts = await asyncio.gather(
                *(log.append(event(base + i * 10 + j, subject=SUBJECT if j % 2 else None)) for j in range(10))
            )
            seqs += [r.seq for r in receipts]
        return seqs

    tasks = [asyncio.create_task(write(first, 0)), asyncio.create_task(write(second, 1000))]
    during = []
    while not all(t.done() for t in tasks):
        during.append(await first.verify())
    seqs_a, seqs_b = await asyncio.gather(*tasks)
    assert sorted(seqs_a + seqs_b) == list(range(1, 201))
    assert first.stats.transactions + second.stats.transactions < 200
    final = await second.verify()
    await first.close()
    await second.close()
    assert during and all(r.ok for r in during), [r.reason for r in during if not r.ok]
    assert final.ok and final.checked == 200 and final.authenticated == 200
    assert final.checkpoints_checked >= 40


async def test_postgres_tables_hold_no_known_plaintext(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    marker = "OKAPI-MARKER-55ad"
    log = await AuditLog.open(pg_settings(tmp_path, postgres_url), engine=pg_engine_factory())
    for i in range(12):
        await log.append(event(i, subject=SUBJECT, marker=marker))
    view = await log.get(3, with_content=True)
    await log.close()
    assert view is not None and marker in view.content["text"]
    conn = await asyncpg.connect(pg_engine_factory.dsn)  # type: ignore[attr-defined]
    try:
        schema = pg_engine_factory.schema  # type: ignore[attr-defined]
        dump = ""
        for table in ("audit_records", "audit_deks", "audit_checkpoints"):
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{schema}".{table} t')
            assert rows
            dump += "\n".join(r["row"] for r in rows)
    finally:
        await conn.close()
    for needle in (marker, SUBJECT):
        assert needle not in dump
        assert needle.encode().hex() not in dump
    assert log.subject_ref(SUBJECT) in dump


async def test_append_fails_closed_without_hanging_when_postgres_blocks_writes(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    settings = pg_settings(tmp_path, postgres_url, append_timeout_s=1.0)
    log = await AuditLog.open(settings, engine=pg_engine_factory())
    await log.append(event(1))
    blocker = await asyncpg.connect(pg_engine_factory.dsn)  # type: ignore[attr-defined]
    schema = pg_engine_factory.schema  # type: ignore[attr-defined]
    tx = blocker.transaction()
    await tx.start()
    await blocker.execute(f'LOCK TABLE "{schema}".audit_records IN ACCESS EXCLUSIVE MODE')
    try:
        started = time.monotonic()
        with pytest.raises(AuditUnavailable):
            await log.append(event(2))
        assert time.monotonic() - started < 3.0
    finally:
        await tx.rollback()
        await blocker.close()
    receipt = await log.append(event(3))
    report = await log.verify()
    await log.close()
    assert report.ok
    assert receipt.seq == report.head_seq


async def test_migrations_are_idempotent_and_use_their_own_version_table(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    from audit.migrations import migrate

    engine = pg_engine_factory()
    await asyncio.gather(migrate(engine), migrate(pg_engine_factory()))
    await migrate(engine)
    conn = await asyncpg.connect(pg_engine_factory.dsn)  # type: ignore[attr-defined]
    try:
        schema = pg_engine_factory.schema  # type: ignore[attr-defined]
        version = await conn.fetchval(f'SELECT version_num FROM "{schema}".audit_alembic_version')
    finally:
        await conn.close()
    assert version == "audit_0003"


async def test_postgres_erasure_is_declared_and_undeclared_nulling_is_tampering(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    settings = pg_settings(tmp_path, postgres_url)
    log = await AuditLog.open(settings, engine=pg_engine_factory())
    for i in range(10):
        await log.append(event(i, subject=SUBJECT if i % 2 else None))
    shred = await log.shred_subject(log.subject_ref(SUBJECT), principal="dpo")
    ranged = await log.erase(seq_ranges=[(3, 3)], kind="retention.run")
    intact = await log.verify()
    assert (shred.records_erased, shred.keys_deleted, ranged.records_erased) == (5, 1, 1)
    assert intact.ok and intact.erased == 6 and intact.erasure_records == 2, intact.reason
    conn = await asyncpg.connect(pg_engine_factory.dsn)  # type: ignore[attr-defined]
    try:
        schema = pg_engine_factory.schema  # type: ignore[attr-defined]
        await conn.execute(f'UPDATE "{schema}".audit_records SET ciphertext = NULL WHERE seq = 5')
    finally:
        await conn.close()
    report = await log.verify()
    view = await log.get(shred.erasure_seq)
    await log.close()
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert view is not None and view.header.erases is not None
