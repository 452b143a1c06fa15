"""Tampering with the SQLite file directly (as a database administrator could) is detected by verify,
which names the first bad record."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sqlite3
import stat

import pytest
from audit_helpers import SUBJECT, db_path, event, raw_execute, raw_insert, raw_replace_all, raw_rows
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.erasure import ErasureDeclaration
from audit.records import StoredRecord, ciphertext_digest, record_hash
from audit.signing import Checkpoint, CheckpointSigner
from audit.store import AuditLog, AuditSettings, RecordFilter
from audit.witness import HeadWitness, HeadWitnessFile, head_witness_path, read_head

N = 20  # checkpoints every 5 records: at 5, 10, 15, 20


async def _write_log(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(1, N + 1):
        await log.append(event(i, subject=SUBJECT if i % 2 else None))
    await log.close()


async def _verify(settings: AuditSettings):
    log = await AuditLog.open(settings)
    try:
        return await log.verify()
    finally:
        await log.close()


def _rechain(records: list[StoredRecord], start_index: int) -> list[StoredRecord]:
    """What an attacker without the signing key can do: recompute every hash from ``start_index`` on."""
    out = list(records[:start_index])
    prev = out[-1].hash if out else "0" * 64
    for index, record in enumerate(records[start_index:], start=start_index):
        record = dataclasses.replace(record, seq=index + 1, prev_hash=prev)
        if record.ciphertext is not None:
            record = dataclasses.replace(record, ciphertext_hash=ciphertext_digest(record.ciphertext))
        record = dataclasses.replace(record, hash=record_hash(record))
        out.append(record)
        prev = record.hash
    return out


@pytest.fixture
async def written(settings: AuditSettings) -> AuditSettings:
    await _write_log(settings)
    report = await _verify(settings)
    assert report.ok and report.checked == N and report.checkpoints_checked >= 4
    return settings


def _flip_hex(value: str) -> str:
    return ("1" if value[0] != "1" else "2") + value[1:]


async def test_flipped_ciphertext_byte_is_detected_at_its_seq(written: AuditSettings) -> None:
    path = db_path(written)
    blob = bytearray(raw_rows(path)[6].ciphertext or b"")
    blob[20] ^= 0x01
    raw_execute(path, "UPDATE audit_records SET ciphertext=? WHERE seq=7", (bytes(blob),))
    report = await _verify(written)
    assert not report.ok
    assert report.first_bad_seq == 7
    assert "ciphertext" in (report.reason or "")


async def test_flipped_hash_is_detected_at_its_seq(written: AuditSettings) -> None:
    path = db_path(written)
    raw_execute(path, "UPDATE audit_records SET hash=? WHERE seq=7", (_flip_hex(raw_rows(path)[6].hash),))
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)


async def test_changed_header_field_is_detected_at_its_seq(written: AuditSettings) -> None:
    raw_execute(db_path(written), "UPDATE audit_records SET principal='someone-else' WHERE seq=7")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)


async def test_changed_decision_with_recomputed_hashes_is_detected_at_its_seq(written: AuditSettings) -> None:
    path = db_path(written)
    records = raw_rows(path)
    records[6] = dataclasses.replace(
        records[6], decision="allow" if records[6].decision != "allow" else "deny"
    )
    raw_replace_all(path, _rechain(records, 6))
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)  # its ciphertext no longer authenticates


async def test_deleted_row_is_detected_at_its_seq(written: AuditSettings) -> None:
    raw_execute(db_path(written), "DELETE FROM audit_records WHERE seq=7")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)
    assert "missing" in (report.reason or "")


async def test_swapped_rows_are_detected_at_the_first_of_them(written: AuditSettings) -> None:
    path = db_path(written)
    records = raw_rows(path)
    a, b = records[6], records[11]
    records[6] = dataclasses.replace(b, seq=7)
    records[11] = dataclasses.replace(a, seq=12)
    raw_replace_all(path, records)
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)


async def test_forged_inserted_row_with_rechained_tail_is_caught_by_signed_checkpoints(
    written: AuditSettings,
) -> None:
    path = db_path(written)
    records = raw_rows(path)
    forged_ct = os.urandom(80)
    forged = dataclasses.replace(
        records[6],
        kind="admin.keys.create",
        principal="attacker",
        ciphertext=forged_ct,
        ciphertext_hash=ciphertext_digest(forged_ct),
    )
    tampered = _rechain([*records[:6], forged, *records[6:]], 6)
    assert tampered[6].prev_hash == records[5].hash  # a perfectly consistent chain
    raw_replace_all(path, tampered)
    raw_execute(path, "DELETE FROM audit_checkpoints")  # the attacker hides the in-database checkpoints too

    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)

    # Even without decrypting, the external signed checkpoints catch it: the first record after the
    # newest checkpoint that still matches (seq 5) is named.
    blind = await _verify(dataclasses.replace(written, verify_content=False))
    assert not blind.ok
    assert blind.first_bad_seq == 6
    assert "checkpoint" in (blind.reason or "")


async def test_nulled_ciphertext_is_tampering_at_its_seq(written: AuditSettings) -> None:
    raw_execute(db_path(written), "UPDATE audit_records SET ciphertext = NULL WHERE seq = 7")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 7)
    assert "erasure record" in (report.reason or "")


@pytest.mark.parametrize(
    ("assignment", "where_seq", "bad_seq"),
    [
        ("ciphertext = 'text'", 7, 7),
        ("ts_us = 'abc'", 7, 7),
        ("entity_counts = X'00ff'", 7, 7),
        ("entity_counts = 'not json'", 7, 7),
        ("usage = X'00'", 7, 7),
        ("latency_us = 1.5", 7, 7),
        ("hash = X'00ff'", 7, 7),
        ("prev_hash = 42.5", 7, 7),
        ("key_id = X'01'", 7, 7),
        ("erases = X'01'", 7, 7),
        ("seq = 'x'", 7, 7),
        ("seq = 7.5", 7, 7),
        ("seq = X'07'", 7, 7),
        ("seq = 'x'", N, N),
        ("ts_us = 'abc'", N, N),
    ],
)
async def test_a_column_value_that_does_not_decode_is_tampering_at_its_seq(
    written: AuditSettings, assignment: str, where_seq: int, bad_seq: int
) -> None:
    raw_execute(db_path(written), f"UPDATE audit_records SET {assignment} WHERE seq = {where_seq}")
    for content in (True, False):
        report = await _verify(dataclasses.replace(written, verify_content=content))
        assert (report.ok, report.first_bad_seq) == (False, bad_seq), report.reason


async def test_a_damaged_head_row_does_not_stop_appends_and_is_reported(written: AuditSettings) -> None:
    raw_execute(db_path(written), f"UPDATE audit_records SET ts_us = 'abc', hash = X'00' WHERE seq = {N}")
    log = await AuditLog.open(written)
    try:
        receipt = await log.append(event(99))
        report = await log.verify()
    finally:
        await log.close()
    assert receipt.seq == N + 1
    assert (report.ok, report.first_bad_seq) == (False, N)


async def test_rows_that_do_not_decode_do_not_break_reads(written: AuditSettings) -> None:
    raw_execute(db_path(written), "UPDATE audit_records SET ts_us = 'abc', ciphertext = 'text' WHERE seq = 7")
    log = await AuditLog.open(written)
    try:
        view = await log.get(7, with_content=True)
        page = await log.query(RecordFilter(), None, 100)
        intact = await log.get(8, with_content=True)
    finally:
        await log.close()
    assert view is not None and view.header.integrity_error and view.content_status == "integrity_error"
    assert view.header.principal is not None  # what still decodes is shown
    assert [h.seq for h in page.items] == list(range(1, N + 1))
    assert [h.seq for h in page.items if h.integrity_error] == [7]
    assert intact is not None and intact.content_status == "ok" and not intact.header.integrity_error


async def test_content_nulled_beside_a_genuine_erasure_is_still_reported(written: AuditSettings) -> None:
    log = await AuditLog.open(written)
    shred = await log.shred_subject(log.subject_ref(SUBJECT))  # the odd seqs: 1, 3, ..., 19
    assert (await log.verify()).ok
    await log.close()
    raw_execute(db_path(written), "UPDATE audit_records SET ciphertext = NULL WHERE seq IN (8, 12)")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 8)
    assert shred.erasure_seq == N + 1 and report.erasure_records == 1


def _forged_erasure(records: list[StoredRecord], declaration: ErasureDeclaration, signer: CheckpointSigner):
    """An erasure record a database administrator appends: a valid hash chain, but no signing key."""
    last = records[-1]
    ct = os.urandom(60)
    forged = dataclasses.replace(
        last,
        seq=last.seq + 1,
        ts_us=last.ts_us + 1,
        kind="audit.erasure",
        subject_ref=None,
        ciphertext=ct,
        ciphertext_hash=ciphertext_digest(ct),
        prev_hash=last.hash,
        erases=declaration.signed(signer, last.seq + 1, last.hash).to_text(),
    )
    return dataclasses.replace(forged, hash=record_hash(forged))


async def test_forged_erasure_record_appended_to_the_chain_excuses_nothing(written: AuditSettings) -> None:
    path = db_path(written)
    records = raw_rows(path)
    own_key = CheckpointSigner(Ed25519PrivateKey.generate())
    raw_execute(path, "UPDATE audit_records SET ciphertext = NULL WHERE seq = 7")
    raw_insert(path, _forged_erasure(records, ErasureDeclaration.of(seqs=[(7, 7)]), own_key))
    for content in (True, False):
        report = await _verify(dataclasses.replace(written, verify_content=content))
        assert (report.ok, report.first_bad_seq) == (False, 7)
        assert any("no valid signature" in p for p in report.problems)


async def test_genuine_erasure_declaration_edited_to_name_more_excuses_nothing(
    written: AuditSettings,
) -> None:
    log = await AuditLog.open(written)
    await log.shred_subject(log.subject_ref(SUBJECT))  # the odd seqs 1..19; erasure record at 21
    await log.close()
    path = db_path(written)
    erasure = raw_rows(path)[-1]
    declared = json.loads(erasure.erases or "")
    declared["seqs"] = [[8, 8]]  # the administrator widens it, and re-hashes the record
    widened = dataclasses.replace(erasure, erases=json.dumps(declared, sort_keys=True, separators=(",", ":")))
    raw_execute(path, "DELETE FROM audit_records WHERE seq = ?", (erasure.seq,))
    raw_insert(path, dataclasses.replace(widened, hash=record_hash(widened)))
    raw_execute(path, "UPDATE audit_records SET ciphertext = NULL WHERE seq = 8")
    report = await _verify(dataclasses.replace(written, verify_content=False))
    assert (report.ok, report.first_bad_seq) == (False, 1)  # not even the genuine part counts now
    assert any("no valid signature" in p for p in report.problems)


async def test_truncated_tail_is_detected_at_the_first_missing_seq(written: AuditSettings) -> None:
    raw_execute(db_path(written), "DELETE FROM audit_records WHERE seq >= 13")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 13)
    assert "truncated" in (report.reason or "")


async def test_truncated_tail_is_detected_by_the_external_file_alone(written: AuditSettings) -> None:
    path = db_path(written)
    raw_execute(path, "DELETE FROM audit_records WHERE seq >= 13")
    raw_execute(path, "DELETE FROM audit_checkpoints")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 13)
    assert report.external_checkpoints >= 1


async def test_everything_deleted_is_detected_by_the_external_file(written: AuditSettings) -> None:
    path = db_path(written)
    raw_execute(path, "DELETE FROM audit_records")
    raw_execute(path, "DELETE FROM audit_checkpoints")
    report = await _verify(written)
    assert (report.ok, report.first_bad_seq) == (False, 1)


async def test_forged_checkpoint_in_database_is_rejected(written: AuditSettings) -> None:
    path = db_path(written)
    raw_execute(path, "DELETE FROM audit_records WHERE seq >= 13")
    raw_execute(path, "UPDATE audit_checkpoints SET signature=? WHERE seq=10", ("00" * 64,))
    witness = written.checkpoint_file
    witness.write_text("")  # and the external file lost
    report = await _verify(written)
    assert not report.ok
    assert any("no valid signature" in p for p in report.problems)


async def test_malformed_external_checkpoint_line_fails_verification(written: AuditSettings) -> None:
    witness = written.checkpoint_file
    lines = witness.read_text().splitlines()
    first = json.loads(lines[0])
    first["seq"] = "x"
    witness.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    report = await _verify(written)
    assert not report.ok
    assert "malformed" in (report.reason or "")


async def test_torn_last_external_line_is_not_tampering(written: AuditSettings) -> None:
    with written.checkpoint_file.open("a") as handle:
        handle.write('{"seq": 25, "head_')
    assert (await _verify(written)).ok


async def test_database_file_and_wal_hold_no_known_plaintext(settings: AuditSettings) -> None:
    marker = "ZEBRA-MARKER-91f3"
    log = await AuditLog.open(settings)
    for i in range(30):
        await log.append(event(i, subject=SUBJECT, marker=marker))
    await log.append(
        event(
            99,
            subject="other-subject-Q7",
            marker=marker,
            payload={"prompt": f"{marker} patient {SUBJECT} has diabetes"},
        )
    )
    # Scan while the log is open (WAL not yet checkpointed into the main file) and after close.
    path = db_path(settings)
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert any(p.name.endswith("-wal") for p in files)
    blobs = [p.read_bytes() for p in files]
    await log.close()
    blobs += [p.read_bytes() for p in path.parent.iterdir()]
    for blob in blobs:
        for needle in (marker, SUBJECT, "other-subject-Q7", "diabetes"):
            assert needle.encode() not in blob
            assert needle.encode("utf-16-le") not in blob
    with sqlite3.connect(path) as conn:
        refs = {row[0] for row in conn.execute("SELECT subject_ref FROM audit_records")}
    log = await AuditLog.open(settings)
    assert log.subject_ref(SUBJECT) in refs
    view = await log.get(31, with_content=True)
    await log.close()
    assert view is not None and marker in view.content["prompt"]


def write_head(path, checkpoint: Checkpoint) -> None:
    """One write to the head witness at ``path``, as another gateway process would do it."""
    witness = HeadWitnessFile(path)
    try:
        witness.write(checkpoint)
    finally:
        witness.close()


async def _wait_for_head_witness(settings: AuditSettings, seq: int) -> None:
    path = head_witness_path(settings.checkpoint_file)
    for _ in range(200):
        witness = read_head(path).checkpoint
        if witness is not None and witness.seq >= seq:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the head witness was not written")


async def test_tail_dropped_after_the_last_checkpoint_is_caught_by_the_head_witness(
    settings: AuditSettings,
) -> None:
    log = await AuditLog.open(settings)  # checkpoint every 5 records: 7 leaves 6 and 7 unsigned
    for i in range(1, 8):
        await log.append(event(i))
    await _wait_for_head_witness(settings, 7)
    path = db_path(settings)
    raw_execute(path, "DELETE FROM audit_records WHERE seq >= 6")
    raw_execute(path, "DELETE FROM audit_checkpoints")
    report = await log.verify()
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert "truncated" in (report.reason or "")
    await log.close()


async def test_head_witness_never_goes_back_and_a_malformed_one_is_reported(settings: AuditSettings) -> None:
    log = await AuditLog.open(settings)
    for i in range(1, 4):
        await log.append(event(i))
    await _wait_for_head_witness(settings, 3)
    witness_path = head_witness_path(settings.checkpoint_file)
    newest = read_head(witness_path).checkpoint
    assert newest is not None
    # An older head (another process that committed earlier) does not replace a newer one.
    write_head(witness_path, dataclasses.replace(newest, seq=1))
    assert read_head(witness_path).checkpoint == newest
    assert stat.S_IMODE(os.stat(witness_path).st_mode) == 0o600
    assert (await log.verify()).ok
    witness_path.write_text("{not json")
    report = await log.verify()
    await log.close()
    assert not report.ok
    assert "head witness" in (report.reason or "")


async def test_head_witness_writes_are_coalesced_and_the_last_head_is_written_on_close(
    settings: AuditSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    write = HeadWitnessFile.write

    def counted(self: HeadWitnessFile, checkpoint: Checkpoint) -> None:
        writes.append(checkpoint.seq)
        write(self, checkpoint)

    monkeypatch.setattr(HeadWitnessFile, "write", counted)
    monkeypatch.setattr("audit.witness.WITNESS_INTERVAL_S", 3600.0)  # no second write until close
    log = await AuditLog.open(settings)
    for i in range(1, 21):
        await log.append(event(i))
    await _wait_for_head_witness(settings, 1)
    assert len(writes) == 1  # the first head; the 19 heads after it wait for the interval
    await log.close()
    assert writes[-1] == 20  # closing writes the newest head
    newest = read_head(head_witness_path(settings.checkpoint_file)).checkpoint
    assert newest is not None and newest.seq == 20


def test_a_torn_head_witness_slot_leaves_the_previous_head_readable(tmp_path) -> None:
    path = tmp_path / "checkpoints.jsonl.head"
    first = Checkpoint(seq=4, head_hash="a" * 64, ts_us=1, key_id="k", signature="00" * 64)
    second = dataclasses.replace(first, seq=5, head_hash="b" * 64)
    write_head(path, first)
    write_head(path, second)
    assert read_head(path).checkpoint == second
    data = bytearray(path.read_bytes())
    newest_slot = data.index(b'"seq":5') // 512
    data[newest_slot * 512 + 10] ^= 0xFF  # a crash in the middle of writing the newest slot
    path.write_bytes(bytes(data))
    assert read_head(path) == HeadWitness(first, False)
    data[(1 - newest_slot) * 512 + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_head(path).malformed


def test_a_closed_head_witness_writes_nothing(tmp_path) -> None:
    witness = HeadWitnessFile(tmp_path / "checkpoints.jsonl.head")
    witness.close()
    witness.write(Checkpoint(seq=1, head_hash="a" * 64, ts_us=1, key_id="k", signature="00" * 64))
    assert not (tmp_path / "checkpoints.jsonl.head").exists()


async def test_a_head_witness_that_cannot_be_written_makes_the_log_unhealthy(settings: AuditSettings) -> None:
    head_witness_path(settings.checkpoint_file).mkdir(parents=True)  # a directory: every write fails
    log = await AuditLog.open(settings)
    await log.append(event(1))
    for _ in range(100):
        if log.stats.witness_failures:
            break
        await asyncio.sleep(0.01)
    assert log.stats.witness_failures >= 1
    assert not await log.healthy()
    await log.close()
