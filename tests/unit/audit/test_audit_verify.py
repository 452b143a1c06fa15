"""The pure chain verifier on forged inputs: every kind of change names the first bad record."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.erasure import ErasureDeclaration
from audit.records import GENESIS_HASH, StoredRecord, ciphertext_digest, record_hash
from audit.signing import Checkpoint, CheckpointSigner
from audit.verify import ChainVerifier, VerifyReport

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
OTHER_SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())


def chain(n: int, key_of: dict[int, str] | None = None) -> list[StoredRecord]:
    """``n`` chained records, all sealed under key ``k1`` except those ``key_of`` names."""
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
            key_id=(key_of or {}).get(seq, "k1"),
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


def test_time_going_backwards_is_a_failure_even_when_rehashed() -> None:
    records = chain(10)
    records[5] = dataclasses.replace(records[5], ts_us=records[4].ts_us - 1)
    report = run(rechain(records), [])
    assert report.first_bad_seq == 6


# ---- erasure declarations: content may be missing only where the log says why -------------------


def erased(records: list[StoredRecord], seqs: set[int]) -> list[StoredRecord]:
    """The rows with their ciphertext deleted (hashes kept), as a database administrator could."""
    return [dataclasses.replace(r, ciphertext=None) if r.seq in seqs else r for r in records]


def erasure_record(
    records: list[StoredRecord],
    declaration: ErasureDeclaration,
    signer: CheckpointSigner = SIGNER,
    *,
    signed_at: tuple[int, str] | None = None,
) -> StoredRecord:
    """The erasure record the log appends after ``records``; ``signed_at`` signs it for another place."""
    seq, prev = len(records) + 1, records[-1].hash
    at_seq, at_prev = signed_at or (seq, prev)
    ct = b"erasure payload".ljust(40, b".")
    rec = StoredRecord(
        seq=seq,
        ts_us=records[-1].ts_us + 1,
        kind="audit.erasure",
        tenant=None,
        principal="dpo",
        role="admin",
        model=None,
        request_id="erase-1",
        subject_ref=None,
        decision="allow",
        entity_counts="{}",
        usage=None,
        latency_us=None,
        key_id="k-day",
        ciphertext=ct,
        ciphertext_hash=ciphertext_digest(ct),
        prev_hash=prev,
        hash="",
        erases=declaration.signed(signer, at_seq, at_prev).to_text(),
    )
    return dataclasses.replace(rec, hash=record_hash(rec))


def test_content_deleted_without_an_erasure_record_is_tampering_at_its_seq() -> None:
    report = run(erased(chain(10), {4, 7}), checkpoints_of(chain(10), 5))
    assert not report.ok and report.first_bad_seq == 4 and report.erased == 2
    assert "no later erasure record" in (report.reason or "")


def test_erasure_record_naming_the_deleted_key_explains_the_missing_content() -> None:
    records = erased(chain(10, key_of={2: "k-subject", 5: "k-subject", 9: "k-subject"}), {2, 5, 9})
    records.append(erasure_record(records, ErasureDeclaration.of(key_ids=["k-subject"])))
    report = run(records, [])
    assert report.ok, report.reason
    assert report.erased == 3 and report.erasure_records == 1


def test_erasure_record_naming_seq_ranges_explains_only_those_seqs() -> None:
    records = erased(chain(10), {3, 4, 5, 8})
    records.append(erasure_record(records, ErasureDeclaration.of(seqs=[(3, 5)])))
    report = run(records, [])
    assert (report.ok, report.first_bad_seq) == (False, 8)


def test_erasure_record_naming_only_some_keys_leaves_the_other_deleted_content_reported() -> None:
    records = erased(chain(10, key_of={2: "k-a", 4: "k-b", 6: "k-a"}), {2, 4, 6})
    records.append(erasure_record(records, ErasureDeclaration.of(key_ids=["k-a"])))
    report = run(records, [])
    assert (report.ok, report.first_bad_seq) == (False, 4)


def test_an_erasure_record_explains_nothing_after_itself() -> None:
    records = chain(6, key_of={2: "k-a"})
    records.append(erasure_record(records, ErasureDeclaration.of(key_ids=["k-a"])))
    later = chain(9, key_of={2: "k-a", 9: "k-a"})[7:]  # records 8 and 9, 9 under the erased key
    records += rechain_from(records, later)
    records = erased(records, {2, 9})
    report = run(records, [])
    assert (report.ok, report.first_bad_seq) == (False, 9)


def rechain_from(head: list[StoredRecord], tail: list[StoredRecord]) -> list[StoredRecord]:
    out: list[StoredRecord] = []
    prev, seq, ts = head[-1].hash, head[-1].seq, head[-1].ts_us
    for rec in tail:
        seq += 1
        ts += 1
        rec = dataclasses.replace(rec, seq=seq, ts_us=ts, prev_hash=prev)
        rec = dataclasses.replace(rec, hash=record_hash(rec))
        out.append(rec)
        prev = rec.hash
    return out


def test_an_erasure_record_naming_its_own_seq_or_later_is_tampering_at_its_seq() -> None:
    records = chain(10)
    records.append(erasure_record(records, ErasureDeclaration.of(seqs=[(9, 11)])))
    report = run(records, [])
    assert (report.ok, report.first_bad_seq) == (False, 11)
    assert "at or after its own" in (report.reason or "")


def test_forged_erasure_record_signed_by_another_key_explains_nothing() -> None:
    records = erased(chain(10), {3})
    records.append(erasure_record(records, ErasureDeclaration.of(seqs=[(3, 3)]), OTHER_SIGNER))
    report = run(records, [])
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert any("no valid signature" in p for p in report.problems)


def test_erasure_declaration_moved_to_another_place_in_the_chain_explains_nothing() -> None:
    records = erased(chain(10), {3})
    # A genuine signature, but made for a record at seq 11 after another predecessor.
    moved = erasure_record(records, ErasureDeclaration.of(seqs=[(3, 3)]), signed_at=(11, records[5].hash))
    report = run([*records, moved], [])
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_erasure_record_whose_hash_is_broken_explains_nothing() -> None:
    records = erased(chain(10), {3})
    genuine = erasure_record(records, ErasureDeclaration.of(seqs=[(3, 3)]))
    report = run([*records, dataclasses.replace(genuine, principal="someone-else")], [])
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_erasure_record_that_does_not_link_into_the_chain_explains_nothing() -> None:
    records = erased(chain(10), {3})
    declaration = ErasureDeclaration.of(seqs=[(3, 3)])
    outside = erasure_record(records[:9], declaration)  # chained after seq 9, placed at 11
    outside = dataclasses.replace(outside, seq=11)
    outside = dataclasses.replace(
        outside,
        erases=declaration.signed(SIGNER, 11, outside.prev_hash).to_text(),
    )
    outside = dataclasses.replace(outside, hash=record_hash(outside))
    report = run([*records, outside], [])
    assert (report.ok, report.first_bad_seq) == (False, 3)


@settings(max_examples=60, deadline=None)
@given(
    deleted=st.sets(st.integers(1, 20), max_size=8),
    declared_seqs=st.sets(st.integers(1, 20), max_size=8),
    declare_key=st.booleans(),
)
def test_deleted_content_is_intact_exactly_when_a_later_declaration_covers_it(
    deleted: set[int], declared_seqs: set[int], declare_key: bool
) -> None:
    keyed = {seq: "k-subject" for seq in range(2, 21, 3)}
    records = erased(chain(20, key_of=keyed), deleted)
    declaration = ErasureDeclaration.of(
        key_ids=["k-subject"] if declare_key else [], seqs=[(s, s) for s in declared_seqs]
    )
    records.append(erasure_record(records, declaration))
    unexplained = sorted(s for s in deleted if not declaration.covers(s, keyed.get(s, "k1")))
    report = run(records, [])
    assert report.ok == (not unexplained)
    assert report.first_bad_seq == (unexplained[0] if unexplained else None)


def test_erasure_declarations_are_canonical_and_round_trip() -> None:
    declaration = ErasureDeclaration.of(key_ids=["b", "a", "b"], seqs=[(7, 9), (1, 2), (3, 3), (8, 12)])
    assert declaration.key_ids == ("a", "b") and declaration.seqs == ((1, 3), (7, 12))
    signed = declaration.signed(SIGNER, 20, "ab" * 32)
    assert ErasureDeclaration.from_text(signed.to_text()) == signed
    assert signed.verify(SIGNER.verifier, 20, "ab" * 32)
    assert not signed.verify(SIGNER.verifier, 21, "ab" * 32)
    assert not signed.verify(OTHER_SIGNER.verifier, 20, "ab" * 32)
