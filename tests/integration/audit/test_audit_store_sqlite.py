"""The audit log on a real SQLite file: group commit, fail-closed appends, key rotation, export
bundles, auditor queries, crypto-shredding."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import sqlite3
import stat
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import SUBJECT, db_path, event, make_settings, raw_rows

from audit.errors import AuditError, AuditUnavailable
from audit.export import verify_bundle
from audit.records import AuditEvent
from audit.rotation import retire_kek, rotate_kek
from audit.store import (
    AuditLog,
    AuditSettings,
    InvalidCursor,
    RecordFilter,
    prepare_sqlite_database,
    prepare_sqlite_file,
)


async def test_concurrent_appends_are_group_committed_into_a_linear_chain(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    receipts = await asyncio.gather(*(log.append(event(i)) for i in range(200)))
    assert sorted(r.seq for r in receipts) == list(range(1, 201))
    assert log.stats.transactions < 200
    assert log.stats.max_batch > 1
    report = await log.verify()
    await log.close()
    assert report.ok and report.checked == 200 and report.authenticated == 200
    rows = raw_rows(db_path(settings))
    assert [r.seq for r in rows] == list(range(1, 201))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert all(b.ts_us >= a.ts_us for a, b in itertools.pairwise(rows))


async def test_receipt_names_the_committed_row(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    receipt = await log.append(event(1))
    # Committed: another connection sees it at once.
    with sqlite3.connect(db_path(settings)) as conn:
        row = conn.execute("SELECT seq, hash FROM audit_records").fetchone()
    await log.close()
    assert row == (receipt.seq, receipt.hash)


async def test_append_fails_closed_without_hanging_when_the_database_is_locked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, append_timeout_s=1.0)
    log = await AuditLog.open(settings)
    await log.append(event(1))
    blocker = sqlite3.connect(db_path(settings), timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(AuditUnavailable):
            await log.append(event(2))
        assert time.monotonic() - started < 30.0  # a bound for a hang, not a speed requirement
        assert not await log.healthy()
    finally:
        blocker.rollback()
        blocker.close()
    # The store recovers, and the failed append left no gap.
    receipt = await log.append(event(3))
    assert receipt.seq == 2
    assert await log.healthy()
    report = await log.verify()
    await log.close()
    assert report.ok and report.checked == 2


async def test_append_waits_out_a_lock_held_longer_than_the_busy_timeout(settings: AuditSettings) -> None:
    # Another process (a second gateway worker, a backup) holds the write lock for longer than
    # SQLite's busy timeout but less than the append deadline: the append retries and succeeds.
    log = await AuditLog.open(dataclasses.replace(settings, append_timeout_s=60.0))
    await log.append(event(1))
    blocker = sqlite3.connect(db_path(settings), timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")

    async def release_after_a_retry() -> None:
        # The lock outlives one busy timeout (a retry is counted), then goes: no fixed delay that
        # a loaded machine could stretch past the append deadline.
        deadline = time.monotonic() + 30.0
        while log.stats.retried_batches == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        blocker.rollback()

    release = asyncio.create_task(release_after_a_retry())
    try:
        receipt = await log.append(event(2))
    finally:
        await release
        blocker.close()
    assert receipt.seq == 2
    assert log.stats.retried_batches >= 1
    assert log.stats.failed_batches == 0
    report = await log.verify()
    await log.close()
    assert report.ok and report.checked == 2


async def test_append_fails_closed_when_the_table_cannot_be_written(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    await log.append(event(1))
    with sqlite3.connect(db_path(settings)) as conn:
        conn.execute("ALTER TABLE audit_records RENAME TO audit_records_moved")
    with pytest.raises(AuditUnavailable):
        await log.append(event(2))
    assert not await log.healthy()
    await log.close()


async def test_append_after_close_raises_audit_unavailable(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    await log.close()
    with pytest.raises(AuditUnavailable):
        await log.append(event(1))


async def test_open_on_an_unusable_database_raises_audit_unavailable(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "audit.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(AuditUnavailable):
        await AuditLog.open(make_settings(tmp_path))


async def test_invalid_event_is_refused_before_it_can_poison_a_batch(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    with pytest.raises(AuditError):
        await log.append(event(1, kind="k" * 500))
    with pytest.raises(AuditError):
        await log.append(event(1, entity_counts={"PERSON": "Hans"}))
    assert (await log.append(event(2))).seq == 1
    await log.close()


async def test_checkpoints_every_n_records_and_on_close_go_to_the_database_and_the_external_file(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)
    for i in range(12):
        await log.append(event(i))
    await log.close()
    lines = [json.loads(line) for line in settings.checkpoint_file.read_text().splitlines()]
    assert [cp["seq"] for cp in lines] == [5, 10, 12]
    with sqlite3.connect(db_path(settings)) as conn:
        stored = [row[0] for row in conn.execute("SELECT seq FROM audit_checkpoints ORDER BY seq")]
    assert stored == [5, 10, 12]


async def test_interval_checkpoint_is_written_when_records_wait_unsigned(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, checkpoint_every=1000, checkpoint_interval_s=0.2)
    log = await AuditLog.open(settings)
    await log.append(event(1))
    await log.append(event(2))
    # The interval timer runs in the background: wait for its checkpoint, however loaded the
    # machine, instead of sleeping a fixed time.
    deadline = time.monotonic() + 30.0
    lines: list[str] = []
    while not lines and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        text = settings.checkpoint_file.read_text() if settings.checkpoint_file.exists() else ""
        if text.endswith("\n"):  # a whole line, not one being written
            lines = text.splitlines()
    await log.close()
    assert [json.loads(line)["seq"] for line in lines] == [2]


async def test_verify_while_appends_run_reports_intact(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    writer_log = await AuditLog.open(settings)  # a second writer on the same file

    async def writer(target: AuditLog, base: int) -> None:
        for i in range(40):
            await asyncio.gather(*(target.append(event(base + i * 4 + j)) for j in range(4)))

    tasks = [asyncio.create_task(writer(log, 0)), asyncio.create_task(writer(writer_log, 1000))]
    reports = []
    while not all(t.done() for t in tasks):
        reports.append(await log.verify())
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    reports.append(await log.verify())
    await writer_log.close()
    await log.close()
    assert len(reports) >= 2
    assert all(r.ok for r in reports), [r.reason for r in reports if not r.ok]
    assert reports[-1].checked == 320


async def test_key_ring_files_are_private_and_never_in_reprs(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    await log.append(event(1, subject=SUBJECT))
    key_dir = settings.key_dir
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    names = sorted(p.name for p in key_dir.iterdir())
    assert names == ["checkpoint-signing.ed25519", "kek-v1.key", "subject-hmac.key"]
    secrets = [p.read_bytes() for p in key_dir.iterdir()]
    for path in key_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    texts = [repr(log), repr(log.provider), repr(log.signer), repr(settings), repr(event(1, subject=SUBJECT))]
    await log.close()
    for text in texts:
        assert SUBJECT not in text
        for secret in secrets:
            assert secret.hex() not in text and repr(secret) not in text


async def test_kek_rotation_keeps_every_record_readable_and_the_retired_kek_can_be_deleted(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)
    for i in range(10):
        await log.append(event(i, subject=SUBJECT if i % 2 else f"subject-{i}", marker="before"))
    summary = await rotate_kek(settings)
    assert summary.new_version == 2 and summary.rewrapped == 6  # 5 subjects + 1 day key
    assert summary.versions_in_use == (2,) and summary.retirable_versions == (1,)
    for i in range(10, 20):
        await log.append(event(i, subject=SUBJECT if i % 2 else f"subject-{i}", marker="after"))
    with sqlite3.connect(db_path(settings)) as conn:
        versions = {row[0] for row in conn.execute("SELECT kek_version FROM audit_deks")}
    assert versions == {2}  # the running log saw the new version without a restart
    with pytest.raises(AuditError):
        await retire_kek(settings, 2)  # the current one
    await retire_kek(settings, 1)
    assert not (settings.key_dir / "kek-v1.key").exists()
    await log.close()

    reopened = await AuditLog.open(settings)  # fresh process: no cached data keys
    contents = [await reopened.get(seq, with_content=True) for seq in range(1, 21)]
    report = await reopened.verify()
    await reopened.close()
    assert all(v is not None and v.content_status == "ok" for v in contents)
    assert [v.content["n"] for v in contents if v is not None] == list(range(20))
    assert report.ok and report.authenticated == 20


async def test_retiring_a_kek_still_in_use_is_refused(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    await log.append(event(1))
    await log.close()
    await log.provider.create_version()  # new version, but no re-wrap yet
    with pytest.raises(AuditError):
        await retire_kek(settings, 1)
    assert (settings.key_dir / "kek-v1.key").exists()


async def test_export_bundle_round_trip_verifies_and_a_modified_line_fails(
    settings: AuditSettings, tmp_path: Path
) -> None:
    log = await AuditLog.open(settings)
    receipts = [await log.append(event(i, subject=SUBJECT, marker="EXPORTED")) for i in range(12)]
    out = tmp_path / "bundle.jsonl"
    summary = await log.export(None, None, out, with_content=True)
    plain = await log.export(receipts[3].time, receipts[9].time, tmp_path / "range.jsonl")
    public_key = log.signer.public_raw
    await log.close()
    assert (summary.records, summary.first_seq, summary.last_seq) == (12, 1, 12)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert verify_bundle(out, public_key).ok
    assert (plain.first_seq, plain.last_seq, plain.records) == (4, 9, 6)
    assert verify_bundle(tmp_path / "range.jsonl").ok
    assert "EXPORTED" not in (tmp_path / "range.jsonl").read_text()
    lines = out.read_text().splitlines()
    assert sum('"type":"record"' in line for line in lines) == 12
    assert "EXPORTED" in lines[0]

    def tampered(index: int, change) -> Path:
        entries = [json.loads(line) for line in lines]
        change(entries[index])
        path = tmp_path / f"tampered-{index}.jsonl"
        path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries))
        return path

    header_changed = verify_bundle(tampered(4, lambda e: e["record"].update(principal="nobody")))
    assert (header_changed.ok, header_changed.first_bad_seq) == (False, 5)
    content_changed = verify_bundle(tampered(4, lambda e: e.update(content={"n": 4, "text": "other"})))
    assert not content_changed.ok and "manifest" in (content_changed.reason or "")

    # An attacker who also fixes the manifest hash cannot re-sign it.
    def refit(entries_index: int) -> Path:
        entries = [json.loads(line) for line in lines]
        entries[entries_index]["content"] = {"n": 0, "text": "rewritten"}
        body = "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries[:-1])
        import hashlib

        entries[-1]["body_sha256"] = hashlib.sha256(body.encode()).hexdigest()
        path = tmp_path / "refit.jsonl"
        path.write_text(body + json.dumps(entries[-1], sort_keys=True, separators=(",", ":")) + "\n")
        return path

    refitted = verify_bundle(refit(0))
    assert not refitted.ok and "signature" in (refitted.reason or "")
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    report = verify_bundle(dropped)
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert not verify_bundle(out, os.urandom(32)).ok


async def test_query_filters_and_cursor_pagination(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    receipts = [await log.append(event(i, subject=SUBJECT if i % 3 == 0 else None)) for i in range(30)]
    everything = []
    cursor = None
    while True:
        page = await log.query(RecordFilter(), cursor, 7)
        everything += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [h.seq for h in everything] == list(range(1, 31))

    async def seqs(filters: RecordFilter) -> list[int]:
        return [h.seq for h in (await log.query(filters, None, 100)).items]

    assert await seqs(RecordFilter(kind="chat.request")) == [i + 1 for i in range(30) if i % 2]
    assert await seqs(RecordFilter(principal="user-1", decision="block")) == [
        i + 1 for i in range(30) if i % 3 == 1 and i % 5 == 0
    ]
    assert await seqs(RecordFilter(role="service", model="other-model")) == [
        i + 1 for i in range(30) if i % 3 == 0 and i % 4 == 0
    ]
    assert await seqs(RecordFilter(subject_ref=log.subject_ref(SUBJECT))) == [i + 1 for i in range(0, 30, 3)]
    assert await seqs(RecordFilter(request_id="req-17")) == [18]
    window = RecordFilter(since=receipts[10].time, until=receipts[20].time)
    assert await seqs(window) == [r.seq for r in receipts if receipts[10].time <= r.time < receipts[20].time]
    assert await seqs(RecordFilter(until=receipts[0].time - timedelta(seconds=1))) == []
    newest = await log.query(RecordFilter(newest_first=True), None, 5)
    assert [h.seq for h in newest.items] == [30, 29, 28, 27, 26]
    after = await log.query(RecordFilter(newest_first=True), newest.next_cursor, 5)
    assert [h.seq for h in after.items] == [25, 24, 23, 22, 21]
    header = (await log.query(RecordFilter(request_id="req-4"), None, 1)).items[0]
    assert header.entity_counts == {"PERSON": 1} and header.usage == {
        "prompt_tokens": 4,
        "completion_tokens": 8,
    }
    assert header.latency_ms == 5.0 and header.subject_ref is None and not header.erased
    assert not hasattr(header, "content") and not hasattr(header, "ciphertext")
    with pytest.raises(InvalidCursor):
        await log.query(RecordFilter(), "not-a-cursor!", 5)
    await log.close()


async def test_get_returns_content_only_when_asked(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    await log.append(
        AuditEvent(
            kind="policy.reload",
            principal="admin-1",
            role="admin",
            model=None,
            request_id="r1",
            subject_id=None,
            decision="allow",
            payload={"digest": "abc"},
        )
    )
    await log.append(AuditEvent(kind="auth.failure", decision="deny"))
    without = await log.get(1, with_content=False)
    with_content = await log.get(1, with_content=True)
    no_payload = await log.get(2, with_content=True)
    missing = await log.get(99, with_content=True)
    await log.close()
    assert without is not None and without.content is None and without.content_status == "not_requested"
    assert with_content is not None and with_content.content == {"digest": "abc"}
    assert no_payload is not None and no_payload.content is None and no_payload.content_status == "ok"
    assert missing is None


async def test_shredding_a_subject_erases_its_content_and_the_chain_still_verifies(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)
    for i in range(10):
        await log.append(event(i, subject=SUBJECT if i % 2 else "someone-else", marker="SHRED-ME"))
    ref = log.subject_ref(SUBJECT)
    summary = await log.shred_subject(ref)
    assert (summary.records_erased, summary.keys_deleted, summary.erasure_seq) == (5, 1, 11)
    erased = await log.get(2, with_content=True)
    kept = await log.get(1, with_content=True)
    assert erased is not None and erased.content_status == "erased" and erased.header.erased
    assert kept is not None and kept.content_status == "ok"
    # New records of the subject get a fresh data key.
    await log.append(event(10, subject=SUBJECT))
    report = await log.verify()
    fresh = await log.get(12, with_content=True)
    await log.close()
    assert report.ok and report.erased == 5 and report.checked == 12 and report.erasure_records == 1
    assert fresh is not None and fresh.content_status == "ok"
    with sqlite3.connect(db_path(settings)) as conn:
        assert conn.execute("SELECT count(*) FROM audit_deks WHERE scope=?", (f"s:{ref}",)).fetchone() == (1,)


async def test_shred_subject_writes_a_signed_erasure_record_in_the_same_transaction(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)
    for i in range(6):
        await log.append(event(i, subject=SUBJECT if i % 2 else None))
    ref = log.subject_ref(SUBJECT)
    subject_key = raw_rows(db_path(settings))[1].key_id
    summary = await log.shred_subject(
        ref, principal="dpo-1", role="admin", tenant="t-1", request_id="r-erase"
    )
    view = await log.get(summary.erasure_seq, with_content=True)
    external = [json.loads(line)["seq"] for line in settings.checkpoint_file.read_text().splitlines()]
    await log.close()
    assert view is not None
    header = view.header
    assert (header.kind, header.principal, header.role, header.tenant, header.request_id) == (
        "audit.erasure",
        "dpo-1",
        "admin",
        "t-1",
        "r-erase",
    )
    assert header.subject_ref == ref and header.key_id != subject_key  # sealed under the day key
    assert header.erases is not None and header.erases["key_ids"] == [subject_key]
    assert header.erases["seqs"] == [] and header.erases["signature"]
    assert view.content == {"erased_records": 3, "deleted_keys": 1, "key_ids": [subject_key], "seqs": []}
    assert SUBJECT not in json.dumps(view.content)
    assert summary.erasure_seq in external  # a signed checkpoint on the erasure record at once
    rows = raw_rows(db_path(settings))
    assert [r.seq for r in rows if r.ciphertext is None] == [2, 4, 6]


async def test_erase_by_seq_ranges_declares_the_ranges(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(8):
        await log.append(event(i))
    summary = await log.erase(seq_ranges=[(2, 3), (5, 5), (7, 99)], kind="retention.run", principal="cron")
    view = await log.get(summary.seq)
    report = await log.verify()
    await log.close()
    assert summary.seq_ranges == ((2, 3), (5, 5), (7, 8)) and summary.records_erased == 5
    assert view is not None and view.header.kind == "retention.run"
    assert report.ok and report.erased == 5


async def test_an_erasure_that_cannot_commit_erases_nothing(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(4):
        await log.append(event(i, subject=SUBJECT))
    with sqlite3.connect(db_path(settings)) as conn:
        # The erasure record cannot be inserted: the whole erasure must roll back.
        conn.execute(
            "CREATE TRIGGER no_erasure BEFORE INSERT ON audit_records WHEN NEW.erases IS NOT NULL "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(AuditUnavailable):
        await log.shred_subject(log.subject_ref(SUBJECT))
    rows = raw_rows(db_path(settings))
    report = await log.verify()
    await log.close()
    assert all(r.ciphertext is not None for r in rows) and len(rows) == 4
    assert report.ok


async def test_a_log_created_before_erasure_declarations_is_upgraded_and_still_verifies(
    settings: AuditSettings,
) -> None:
    from alembic import command

    from audit.database import create_db_engine
    from audit.migrations import alembic_config

    engine = create_db_engine(settings.url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "audit_0001"))
    await engine.dispose()
    with sqlite3.connect(db_path(settings)) as conn:
        assert "erases" not in {row[1] for row in conn.execute("PRAGMA table_info(audit_records)")}
    log = await AuditLog.open(settings)
    await log.append(event(1, subject=SUBJECT))
    await log.shred_subject(log.subject_ref(SUBJECT))
    report = await log.verify()
    await log.close()
    assert report.ok and report.checked == 2


async def test_sqlite_database_wal_and_shm_files_are_private(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(3):
        await log.append(event(i))
    path = db_path(settings)
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
    await log.close()
    assert modes == {p.name: 0o600 for p in files}


def test_prepare_sqlite_file_makes_an_existing_database_private(tmp_path: Path) -> None:
    path = tmp_path / "db" / "gateway.db"
    path.parent.mkdir()
    for name in (path, path.with_name("gateway.db-wal")):
        name.write_bytes(b"")
        name.chmod(0o644)
    assert prepare_sqlite_database(f"sqlite+aiosqlite:///{path}") == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("gateway.db-wal").stat().st_mode) == 0o600
    fresh = tmp_path / "new" / "audit.db"
    prepare_sqlite_file(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert prepare_sqlite_database("postgresql+asyncpg://h/db") is None
    assert prepare_sqlite_database("sqlite+aiosqlite:///:memory:") is None


async def test_two_logs_opening_one_key_dir_at_once_share_one_key_ring(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    logs = await asyncio.gather(*(AuditLog.open(settings) for _ in range(4)))
    refs = {log.subject_ref(SUBJECT) for log in logs}
    keys = {log.signer.key_id for log in logs}
    for log in logs:
        await log.close()
    assert len(refs) == 1 and len(keys) == 1


def test_settings_are_frozen(settings: AuditSettings) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.batch_max = 1  # type: ignore[misc]


async def test_an_erasure_committed_while_verify_walks_the_chain_is_not_tampering(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audit.reader

    monkeypatch.setattr(audit.reader, "_PAGE", 4)  # several read transactions
    log = await AuditLog.open(settings)
    for i in range(12):
        await log.append(event(i, subject=SUBJECT if i >= 8 else None))  # subject at seqs 9..12
    reader = log._reader
    authenticate = reader._authenticate
    erased_during_walk = []

    async def shred_on_first_page(conn: Any, records: Any) -> Any:
        if not erased_during_walk:
            erased_during_walk.append(await log.shred_subject(log.subject_ref(SUBJECT)))
        return await authenticate(conn, records)

    monkeypatch.setattr(reader, "_authenticate", shred_on_first_page)
    report = await log.verify()
    await log.close()
    assert erased_during_walk and erased_during_walk[0].erasure_seq == 13
    assert report.ok, report.reason
    assert report.head_seq == 12 and report.erased == 4
