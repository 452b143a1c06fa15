"""Two audit logs on one database, as two gateway processes (``serve --workers 2``) have them:
each writer keeps the chain head and the checked data keys in memory between batches, and must
notice every commit by the other. And a commit that fails reaches the caller."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from audit_helpers import SUBJECT, db_path, event, make_settings, raw_rows
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.errors import AuditUnavailable
from audit.records import GENESIS_HASH
from audit.store import AuditLog, AuditSettings


async def alternate_and_shred(first: AuditLog, second: AuditLog) -> list[int]:
    """Appends taking turns (every one must chain onto the other log's last record), then the
    first log shreds a subject whose key the second has cached, and the second appends for that
    subject again. Returns the seqs in the order they were committed."""
    seqs: list[int] = []
    for i in range(12):
        log = first if i % 2 == 0 else second
        seqs.append((await log.append(event(i, subject=SUBJECT if i % 3 == 0 else None))).seq)
    shred = await first.shred_subject(first.subject_ref(SUBJECT), principal="dpo")
    seqs.append(shred.erasure_seq)
    # The second log still holds the shredded key; the first makes the subject's new key.
    renewed = await first.append(event(100, subject=SUBJECT, marker="new-key"))
    after = await second.append(event(101, subject=SUBJECT, marker="after-shred"))
    seqs += [renewed.seq, after.seq]
    for receipt, marker in ((renewed, "new-key"), (after, "after-shred")):
        view = await first.get(receipt.seq, with_content=True)
        assert view is not None and view.content_status == "ok", "sealed under a shredded key"
        assert marker in view.content["text"]
    return seqs


async def test_two_logs_taking_turns_on_one_sqlite_file_keep_one_linear_chain(
    settings: AuditSettings,
) -> None:
    first = await AuditLog.open(settings)
    second = await AuditLog.open(settings)
    try:
        seqs = await alternate_and_shred(first, second)
        report = await second.verify()
    finally:
        await first.close()
        await second.close()
    assert seqs == list(range(1, 16))
    assert report.ok and report.checked == 15 and report.authenticated == 11, report.reason
    rows = raw_rows(db_path(settings))
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert all(b.ts_us >= a.ts_us for a, b in itertools.pairwise(rows))


async def test_a_row_committed_by_another_connection_is_chained_onto(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    try:
        await log.append(event(1))
        other = await AuditLog.open(settings)
        await other.append(event(2))
        await other.close()
        receipt = await log.append(event(3))
        report = await log.verify()
    finally:
        await log.close()
    rows = raw_rows(db_path(settings))
    assert receipt.seq == 3 and rows[2].prev_hash == rows[1].hash
    assert report.ok and report.checked == 3


def _fail_commits(path: Path) -> None:
    """Make every COMMIT that inserted a record fail (a deferred foreign key checked at COMMIT)."""
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE commit_breaker (
                seq INTEGER REFERENCES missing_parent(id) DEFERRABLE INITIALLY DEFERRED
            );
            CREATE TABLE missing_parent (id INTEGER PRIMARY KEY);
            CREATE TRIGGER break_commit AFTER INSERT ON audit_records
            BEGIN INSERT INTO commit_breaker VALUES (NEW.seq); END;
            """
        )


async def test_a_commit_that_fails_raises_to_the_caller_and_leaves_no_gap(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    try:
        await log.append(event(1))
        _fail_commits(db_path(settings))
        with pytest.raises(AuditUnavailable):
            await log.append(event(2))
        assert [r.seq for r in raw_rows(db_path(settings))] == [1]
        with sqlite3.connect(db_path(settings)) as conn:
            conn.execute("DROP TRIGGER break_commit")
        receipt = await log.append(event(3))
        report = await log.verify()
    finally:
        await log.close()
    assert log.stats.failed_batches == 1
    assert receipt.seq == 2
    assert report.ok and report.checked == 2, report.reason


pg = pytest.mark.postgres


@pg
async def test_two_logs_taking_turns_on_one_postgres_database_keep_one_linear_chain(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    settings = make_settings(tmp_path, url=postgres_url)
    first = await AuditLog.open(settings, engine=pg_engine_factory())
    second = await AuditLog.open(settings, engine=pg_engine_factory())
    try:
        seqs = await alternate_and_shred(first, second)
        report = await second.verify()
    finally:
        await first.close()
        await second.close()
    assert seqs == list(range(1, 16))
    assert report.ok and report.checked == 15 and report.authenticated == 11, report.reason


@pg
async def test_a_postgres_commit_that_fails_raises_to_the_caller_and_the_writer_recovers(
    tmp_path: Path, postgres_url: str, pg_engine_factory: Callable[[], AsyncEngine]
) -> None:
    log = await AuditLog.open(make_settings(tmp_path, url=postgres_url), engine=pg_engine_factory())
    schema = pg_engine_factory.schema  # type: ignore[attr-defined]
    admin = await asyncpg.connect(pg_engine_factory.dsn)  # type: ignore[attr-defined]
    try:
        await log.append(event(1))
        await admin.execute(
            f"""
            CREATE FUNCTION "{schema}".refuse() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
            CREATE CONSTRAINT TRIGGER break_commit AFTER INSERT ON "{schema}".audit_records
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse();
            """
        )
        with pytest.raises(AuditUnavailable):
            await log.append(event(2))
        assert await admin.fetchval(f'SELECT count(*) FROM "{schema}".audit_records') == 1
        await admin.execute(f'DROP TRIGGER break_commit ON "{schema}".audit_records')
        receipt = await log.append(event(3))
        report = await log.verify()
    finally:
        await admin.close()
        await log.close()
    assert receipt.seq == 2
    assert report.ok and report.checked == 2, report.reason
