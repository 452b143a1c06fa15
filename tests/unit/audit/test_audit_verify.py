"""The pure chain verifier on forged inputs: every kind of change names the first bad record."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.records import GENESIS_HASH, StoredRecord, ciphertext_digest, record_hash
from audit.signing import Checkpoint, CheckpointSigner
from audit.verify import ChainVerifier, VerifyReport

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
OTHER_SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())


def chain(n: int) -> list[StoredRecord]:
    out: list[StoredRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        ct = bytes([seq % 256]) * 40
        rec = StoredRecord(
            seq=seq,
            ts_us=1_700_000_000_000_000 + seq,
            kind="chat.request",
            tenant=None,
            principal=f"p{seq % 3}",
            role="clinician",
            model="m",
            request_id=f"r{seq}",
            subject_ref=None,
            decision="allow",
            entity_counts="{}",
            usage=None,
            latency_us=seq,
            key_id="k1",
            ciphertext=ct,
            ciphertext_hash=ciphertext_digest(ct),
            prev_hash=prev,
            hash="",
        )
        rec = dataclasses.replace(rec, hash=record_hash(rec))
        out.append(rec)
        prev = rec.hash
    return out


def rechain(records: list[StoredRecord]) -> list[StoredRecord]:
    out: list[StoredRecord] = []
    prev = GENESIS_HASH
    for seq, rec in enumerate(records, start=1):
        rec = dataclasses.replace(rec, seq=seq, prev_hash=prev)
        if rec.ciphertext is not None:
            rec = dataclasses.replace(rec, ciphertext_hash=ciphertext_digest(rec.ciphertext))
        rec = dataclasses.replace(rec, hash=record_hash(rec))
        out.append(rec)
        prev = rec.hash
    return out


def checkpoints_of(
    records: list[StoredRecord], every: int, signer: CheckpointSigner = SIGNER
) -> list[Checkpoint]:
    return [signer.checkpoint(r.seq, r.hash, r.ts_us) for r in records if r.seq % every == 0]


def run(records: list[StoredRecord], checkpoints: list[Checkpoint], head: int | None = None) -> VerifyReport:
    verifier = ChainVerifier(SIGNER.verifier, checkpoint_seqs=frozenset(c.seq for c in checkpoints))
    for record in records:
        verifier.feed(record)
    return verifier.finish(
        checkpoints, head_seq=head if head is not None else (records[-1].seq if records else 0)
    )


def test_intact_chain_with_checkpoints_verifies() -> None:
    records = chain(30)
    report = run(records, checkpoints_of(records, 10))
    assert report.ok and report.checked == 30 and report.checkpoints_checked == 3 and report.head_seq == 30


def test_empty_log_verifies() -> None:
    assert run([], []).ok


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, 19),
    field=st.sampled_from(
        [
            "ts_us",
            "kind",
            "principal",
            "role",
            "model",
            "request_id",
            "subject_ref",
            "decision",
            "entity_counts",
            "usage",
            "latency_us",
            "key_id",
            "ciphertext",
            "ciphertext_hash",
            "prev_hash",
            "hash",
        ]
    ),
)
def test_any_single_field_change_names_that_record(index: int, field: str) -> None:
    records = chain(20)
    original = records[index]
    value = getattr(original, field)
    if isinstance(value, int):
        changed: object = value + 7 if field != "ts_us" else value - 7
    elif isinstance(value, bytes):
        changed = bytes([value[0] ^ 1]) + value[1:]
    elif value is None:
        changed = "x"
    elif field.endswith("hash"):
        changed = ("1" if value[0] != "1" else "2") + value[1:]
    else:
        changed = value + "x"
    records[index] = dataclasses.replace(original, **{field: changed})
    report = run(records, checkpoints_of(chain(20), 5))
    assert not report.ok
    assert report.first_bad_seq == original.seq


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 19))
def test_deleted_record_names_its_seq(index: int) -> None:
    records = chain(20)
    del records[index]
    report = run(records, checkpoints_of(chain(20), 5), head=records[-1].seq)
    assert not report.ok
    assert report.first_bad_seq == index + 1


@settings(max_examples=40, deadline=None)
@given(pair=st.lists(st.integers(0, 19), min_size=2, max_size=2, unique=True))
def test_reordered_records_name_the_first_of_them(pair: list[int]) -> None:
    i, j = sorted(pair)
    records = chain(20)
    records[i], records[j] = records[j], records[i]
    report = run(records, [])
    assert not report.ok and report.first_bad_seq == i + 1


def test_rechained_insert_is_caught_by_checkpoints_after_the_last_matching_one() -> None:
    original = chain(20)
    checkpoints = checkpoints_of(original, 5)
    forged = dataclasses.replace(original[11], principal="attacker")
    tampered = rechain([*original[:11], forged, *original[11:]])
    assert run(tampered, []).ok  # internally consistent
    report = run(tampered, checkpoints)
    assert not report.ok
    assert report.first_bad_seq == 11  # after the checkpoint at 10, which still matches
    assert "checkpoint at seq 15" in (report.reason or "")


def test_precise_failure_inside_a_checkpoint_range_is_named_instead_of_the_range_start() -> None:
    original = chain(20)
    tampered = rechain([*original[:13], dataclasses.replace(original[13], decision="deny"), *original[14:]])
    verifier = ChainVerifier(SIGNER.verifier, checkpoint_seqs=frozenset({5, 10, 15, 20}))
    for record in tampered:
        verifier.feed(record, authentic=record.seq < 14)  # as if decryption failed from 14 on
    report = verifier.finish(checkpoints_of(original, 5))
    assert report.first_bad_seq == 14


def test_truncated_tail_names_the_first_missing_seq() -> None:
    records = chain(20)
    report = run(records[:12], checkpoints_of(records, 5))
    assert not report.ok and report.first_bad_seq == 13 and "truncated" in (report.reason or "")


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    records = chain(10)
    report = run(records, checkpoints_of(records, 5, OTHER_SIGNER))
    assert not report.ok
    assert report.first_bad_seq is None
    assert report.checkpoints_checked == 0


def test_checkpoint_with_altered_head_hash_fails_its_signature() -> None:
    records = chain(10)
    cp = checkpoints_of(records, 5)[0]
    forged = dataclasses.replace(cp, head_hash=records[3].hash)
    assert not run(records, [forged]).ok


def test_erased_records_still_verify() -> None:
    records = [dataclasses.replace(r, ciphertext=None) if r.seq % 2 else r for r in chain(10)]
    report = run(records, checkpoints_of(chain(10), 5))
    assert report.ok and report.erased == 5


def test_time_going_backwards_is_a_failure_even_when_rehashed() -> None:
    records = chain(10)
    records[5] = dataclasses.replace(records[5], ts_us=records[4].ts_us - 1)
    report = run(rechain(records), [])
    assert report.first_bad_seq == 6
