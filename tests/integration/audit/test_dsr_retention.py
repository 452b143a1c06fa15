"""Retention runs, subject export and erasure, legal holds and finding a value, on a real SQLite
file and on PostgreSQL (each test runs on both). Time comes from an injected ``now``: records are
written at the real time and the runs are told it is later."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from audit_helpers import db_path, make_settings
from sqlalchemy.ext.asyncio import create_async_engine

from audit.dsr_common import Actor
from audit.dsr_errors import HoldNotFound, InvalidDsrRequest, UnderLegalHold
from audit.holds import create_hold, list_holds, release_hold
from audit.keyring import WrappedKey, dek_context
from audit.reader import RecordFilter
from audit.records import AuditEvent
from audit.retention import run_retention
from audit.schema import deks as deks_table
from audit.store import AuditLog
from audit.subject_erase import erase_records, erase_subject, verify_receipt
from audit.subject_export import build_export, export_subject, read_export_zip, verify_export
from audit.subject_find import find_value
from policies.pii.normalize import canonical_value
from policies.retention import parse_retention_policy

DPO = Actor(principal="dpo-1", role="dpo")
POLICY = parse_retention_policy(
    {
        "retention": {
            "kinds": {
                "chat.*": {"min_days": 0, "max_days": 30},
                "auth.*": {"min_days": 180, "max_days": 400},
            }
        }
    },
    "test",
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def audit(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuditLog]:
    """The log on a SQLite file, then on PostgreSQL in a schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        log = await AuditLog.open(make_settings(tmp_path))
        try:
            yield log
        finally:
            await log.close()
        return
    postgres_url: str = request.getfixturevalue("postgres_url")  # skips when unreachable
    schema = f"dsr_test_{uuid.uuid4().hex[:12]}"
    dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {dsn} is not usable: {type(exc).__name__}")
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    engine = create_async_engine(postgres_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        log = await AuditLog.open(make_settings(tmp_path, url=postgres_url), engine=engine)
        try:
            yield log
        finally:
            await log.close()
    finally:
        await engine.dispose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def chat(kind: str, subject: str | None, request_id: str, payload: dict[str, object]) -> AuditEvent:
    return AuditEvent(
        kind=kind,
        principal="clinician-1",
        role="clinician",
        request_id=request_id,
        subject_id=subject,
        payload=payload,
    )


async def exchange(log: AuditLog, subject: str | None, n: int, name: str) -> None:
    await log.append(
        chat(
            "chat.request",
            subject,
            f"req-{n}",
            {
                "request": {"messages": [{"role": "user", "content": f"Patient {name} visit {n}"}]},
                "pseudonyms": {"[PERSON_1]": name},
            },
        )
    )
    await log.append(
        chat("chat.response", subject, f"req-{n}", {"answer": {"content": f"[PERSON_1] is fine ({n})"}})
    )


def later(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def content_of(log: AuditLog, seq: int) -> object:
    view = await log.get(seq, with_content=True)
    assert view is not None
    return view.content if view.content_status == "ok" else view.content_status


# ------------------------------------------------------------------------------ retention


async def test_retention_removes_expired_content_keeps_held_and_minimum_and_chain_verifies(
    audit: AuditLog,
) -> None:
    await exchange(audit, None, 1, "Anna Weber")
    await exchange(audit, "subject-A", 2, "Bert Kaiser")
    failure = await audit.append(AuditEvent(kind="auth.failure", payload={"reason": "unknown_key"}))
    await exchange(audit, "subject-held", 3, "Cora Lang")
    await create_hold(audit, later(0), DPO, subject_id="subject-held")

    dry = await run_retention(audit, POLICY, later(40), dry_run=True, batch_size=2)
    assert dry.expired_by_kind == {"chat.request": 2, "chat.response": 2}
    assert dry.held == 2 and dry.erasure_seqs == ()
    assert await content_of(audit, 1) != "erased"  # a dry run changes nothing

    phases: list[str] = []
    report = await run_retention(
        audit, POLICY, later(40), batch_size=2, progress=lambda phase, done, total: phases.append(phase)
    )
    assert report.expired_by_kind == {"chat.request": 2, "chat.response": 2}
    assert report.held == 2 and report.erasure_seqs and "scan" in phases
    for seq in (1, 2, 3, 4):
        assert await content_of(audit, seq) in ("erased", "key_unavailable")
    assert isinstance(await content_of(audit, failure.seq), dict)  # 180-day minimum, 400-day max
    assert isinstance(await content_of(audit, 6), dict)  # held
    assert (await audit.verify()).ok

    # A year later the security event is still under its maximum; past 400 days it goes.
    await run_retention(audit, POLICY, later(200))
    assert isinstance(await content_of(audit, failure.seq), dict)
    await run_retention(audit, POLICY, later(401))
    assert await content_of(audit, failure.seq) in ("erased", "key_unavailable")
    assert isinstance(await content_of(audit, 6), dict)
    assert (await audit.verify()).ok


async def test_retention_destroys_a_whole_expired_day_key(audit: AuditLog) -> None:
    for n in range(3):
        await exchange(audit, None, n, "Dora Fink")
    async with audit.engine.connect() as conn:
        before = {row[0] for row in (await conn.execute(deks_table.select())).all()}
    report = await run_retention(audit, POLICY, later(40))
    assert len(report.day_keys) == 1 and report.records_in_day_keys == 6
    async with audit.engine.connect() as conn:
        after = {row[0] for row in (await conn.execute(deks_table.select())).all()}
    assert not (before & after)  # the old day key is gone (a new one seals the run's own records)
    assert (await audit.verify()).ok


# ------------------------------------------------------------------------------ export


async def test_export_returns_exactly_the_subjects_records_decrypted_restored_and_signed(
    audit: AuditLog,
) -> None:
    await exchange(audit, "subject-A", 1, "Anna Weber")
    await exchange(audit, "subject-B", 2, "Bert Kaiser")
    await exchange(audit, "subject-A", 3, "Anna Weber")
    export = await export_subject(audit, "subject-A", later(0), DPO)
    records = json.loads(export.files["records.json"])["records"]
    assert [r["seq"] for r in records] == [1, 2, 5, 6]
    assert records[1]["content"]["answer"]["content"] == "Anna Weber is fine (1)"
    assert "Bert" not in export.files["records.csv"].decode("utf-8-sig")
    assert "Anna Weber is fine (3)" in export.files["records.csv"].decode("utf-8-sig")
    key = audit.signer.public_raw
    assert verify_export(read_export_zip(export.to_zip()), public_key=key).origin_checked
    tampered = dict(export.files, **{"records.csv": export.files["records.csv"] + b"x"})
    assert not verify_export(tampered, public_key=key).ok
    assert not verify_export(export.files, public_key=bytes(32 * [1])).ok
    empty = await export_subject(audit, "nobody", later(0), DPO)
    assert empty.record_count == 0 and verify_export(empty.files, public_key=key).ok
    with pytest.raises(InvalidDsrRequest):
        await export_subject(audit, " \n", later(0), DPO)
    kinds = [h.kind for h in (await audit.query(RecordFilter(), limit=1000)).items]
    assert kinds.count("dsr.export") == 2


# ------------------------------------------------------------------------------ erasure


async def test_erasure_destroys_the_subject_leaves_others_and_verifies(
    audit: AuditLog, tmp_path: Path
) -> None:
    marker = "Zelda Quux-7781"
    await exchange(audit, "subject-A", 1, marker)
    await exchange(audit, "subject-B", 2, "Bert Kaiser")
    ref = audit.subject_ref("subject-A")
    async with audit.engine.connect() as conn:
        row = (await conn.execute(deks_table.select().where(deks_table.c.scope == f"s:{ref}"))).one()
    dek = await audit.provider.unwrap(
        WrappedKey(row.kek_version, row.wrapped), dek_context(row.key_id, row.scope)
    )

    receipt = await erase_subject(audit, "subject-A", later(0), DPO)
    assert receipt.records_erased == 2 and receipt.key_ids == (row.key_id,)
    assert receipt.document["subject_ref"] == ref and "subject-A" not in json.dumps(receipt.document)
    assert verify_receipt(receipt.document, audit.signer.public_raw).origin_checked
    assert not verify_receipt({**receipt.document, "records_erased": 0}, audit.signer.public_raw).ok

    assert (await build_export(audit, "subject-A", later(0))).record_count == 0
    assert (await build_export(audit, "subject-B", later(0))).record_count == 2
    view = await audit.get(receipt.erasure_seq, with_content=True)
    assert view is not None and view.header.kind == "dsr.erase"
    assert "subject-A" not in json.dumps(view.content) and "subject-A" not in str(view.header)
    assert (await audit.verify()).ok
    if audit.engine.dialect.name == "sqlite":
        dump = b"".join(p.read_bytes() for p in db_path(audit.settings).parent.iterdir() if p.is_file())
        dump += b"".join(p.read_bytes() for p in audit.settings.key_dir.rglob("*") if p.is_file())
        for needle in (marker.encode(), dek, bytes(row.wrapped)):
            assert needle not in dump


async def test_erasure_under_hold_is_refused_with_the_hold_id_until_released(audit: AuditLog) -> None:
    await exchange(audit, "subject-A", 1, "Anna Weber")
    by_subject = await create_hold(audit, later(0), DPO, subject_id="subject-A")
    with pytest.raises(UnderLegalHold) as refused:
        await erase_subject(audit, "subject-A", later(0), DPO)
    assert refused.value.hold_id == by_subject.hold_id
    await release_hold(audit, by_subject.hold_id, later(0), DPO)
    by_time = await create_hold(audit, later(0), DPO, since=later(-1), until=later(1))
    with pytest.raises(UnderLegalHold) as refused:
        await erase_records(audit, [1], later(0), DPO)
    assert refused.value.hold_id == by_time.hold_id
    assert isinstance(await content_of(audit, 1), dict)
    with pytest.raises(InvalidDsrRequest):
        await create_hold(audit, later(0), DPO)  # a hold on nothing
    with pytest.raises(HoldNotFound):
        await release_hold(audit, by_subject.hold_id, later(0), DPO)  # already released
    assert [h.hold_id for h in await list_holds(audit)] == [by_time.hold_id]
    assert len(await list_holds(audit, include_released=True)) == 2


async def test_erasure_racing_with_appends_loses_nothing_and_leaves_nothing_decryptable(
    audit: AuditLog,
) -> None:
    await exchange(audit, "subject-A", 0, "Anna Weber")
    stop = asyncio.Event()

    async def writer(subject: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await audit.append(chat("chat.request", subject, f"{subject}-{n}", {"n": n}))

    tasks = [asyncio.create_task(writer(s)) for s in ("subject-A", "subject-B", "subject-A")]
    await asyncio.sleep(0.2)
    receipt = await erase_subject(audit, "subject-A", later(0), DPO)
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*tasks)
    ref_a, ref_b = audit.subject_ref("subject-A"), audit.subject_ref("subject-B")
    rows = await audit.read_range(1, 10**9)
    contents = await audit.decrypt_records(rows)
    for record in rows:
        if record.subject_ref == ref_b:
            assert record.seq in contents  # nothing of the other subject lost
        if record.subject_ref == ref_a and record.seq < receipt.erasure_seq:
            assert record.seq not in contents
        if record.subject_ref == ref_a and record.seq > receipt.erasure_seq:
            assert record.key_id not in receipt.key_ids and record.seq in contents
    assert (await audit.verify()).ok


# ------------------------------------------------------------------------------ find


async def test_find_value_finds_a_name_sent_without_subject_in_any_spelling_and_erases_it(
    audit: AuditLog,
) -> None:
    await exchange(audit, None, 1, "Maria Gonzalez")
    await audit.append(chat("chat.request", None, "r-2", {"request": {"phone": "call +1 415-555-0137"}}))
    await audit.append(chat("chat.request", None, "r-3", {"request": {"name": "Mariano Gonzalezz"}}))
    hits = await find_value(audit, "ＭＡＲＩＡ  gonzalez", canonical=canonical_value)
    assert hits.seqs == (1,)
    assert (await find_value(audit, "415 555 0137", canonical=canonical_value)).seqs == (3,)
    receipt = await erase_records(audit, list(hits.seqs), later(0), DPO)
    assert receipt.records_erased == 1 and receipt.document["subject_ref"] is None
    assert (await find_value(audit, "Maria Gonzalez", canonical=canonical_value)).seqs == ()
    assert (await audit.verify()).ok


async def test_find_value_misses_nothing_in_ten_thousand_records(tmp_path: Path) -> None:
    log = await AuditLog.open(make_settings(tmp_path, checkpoint_every=1000))
    spellings = ["Hanna Schulz", "HANNA  SCHULZ", "ｈａｎｎａ ｓｃｈｕｌｚ", "hanna schulz"]
    planted: set[int] = set()
    try:
        events = []
        for i in range(10_000):
            if i % 397 == 5:
                text = f"note about {spellings[i % 4]}, again"
                planted.add(i + 1)
            else:
                text = f"note about Hannah Schulze {i}"  # near misses
            where = i % 3
            payload: dict[str, object] = (
                {"request": {"messages": [{"role": "user", "content": text}]}, "pseudonyms": {}}
                if where == 0
                else {"request": {}, "pseudonyms": {"[PERSON_1]": text}}
                if where == 1
                else {"answer": {"content": text}}
            )
            events.append(chat("chat.request", None, f"r-{i}", payload))
        for start in range(0, len(events), 1000):
            await asyncio.gather(*(log.append(e) for e in events[start : start + 1000]))
        seen: list[int] = []
        result = await find_value(
            log, "Hanna Schulz", progress=lambda done, _total: seen.append(done), canonical=canonical_value
        )
        assert set(result.seqs) == planted and result.scanned == 10_000
        assert seen and seen[-1] == 10_000
        since = await find_value(log, "hanna schulz", since=later(1), canonical=canonical_value)
        assert since.seqs == () and since.scanned == 0
    finally:
        await log.close()
