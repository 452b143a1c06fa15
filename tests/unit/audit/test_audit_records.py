"""Decoding stored rows: a column of the wrong type is a damaged row at that seq, never an exception;
the erasure declaration joins the hashed header only when it is set."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from audit.records import (
    DamagedRow,
    StoredRecord,
    ciphertext_digest,
    decode_row,
    header_fields,
    record_aad,
    record_from_dict,
    record_hash,
    record_to_dict,
    to_header,
)


def row(**changes: Any) -> dict[str, Any]:
    ct = b"x" * 40
    values: dict[str, Any] = {
        "seq": 7,
        "ts_us": 1_700_000_000_000_000,
        "kind": "chat.request",
        "tenant": "t-1",
        "principal": "p",
        "role": "clinician",
        "model": "m",
        "request_id": "r",
        "subject_ref": None,
        "decision": "allow",
        "entity_counts": '{"PERSON":1}',
        "usage": None,
        "latency_us": 12,
        "key_id": "k1",
        "ciphertext": ct,
        "ciphertext_hash": ciphertext_digest(ct),
        "prev_hash": "0" * 64,
        "hash": "a" * 64,
        "erases": None,
    }
    values.update(changes)
    return values


def test_a_well_typed_row_decodes_to_a_record() -> None:
    record = decode_row(row(ciphertext=memoryview(b"y" * 40)))
    assert isinstance(record, StoredRecord) and record.ciphertext == b"y" * 40
    assert to_header(record).entity_counts == {"PERSON": 1}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ciphertext", "text"),
        ("ts_us", "abc"),
        ("ts_us", 10**30),
        ("entity_counts", b"\x00\xff"),
        ("entity_counts", "not json"),
        ("entity_counts", '{"PERSON":"Hans"}'),
        ("usage", "[]"),
        ("latency_us", 1.5),
        ("latency_us", True),
        ("hash", b"\x00"),
        ("kind", None),
        ("tenant", 5),
        ("erases", "[1]"),
        ("erases", b"{}"),
    ],
)
def test_a_column_of_the_wrong_type_is_a_damaged_row_at_its_seq(column: str, value: object) -> None:
    damaged = decode_row(row(**{column: value}))
    assert isinstance(damaged, DamagedRow)
    assert (damaged.seq, damaged.column) == (7, column)
    assert damaged.header.integrity_error and damaged.header.seq == 7


def test_a_row_whose_seq_does_not_decode_has_no_seq() -> None:
    damaged = decode_row(row(seq="x"))
    assert isinstance(damaged, DamagedRow) and damaged.seq is None and damaged.hash == "a" * 64


def test_erases_is_hashed_only_when_set_so_old_records_keep_their_hash() -> None:
    record = decode_row(row())
    assert isinstance(record, StoredRecord)
    assert "erases" not in header_fields(record)
    declared = dataclasses.replace(record, erases='{"key_ids":["k1"]}')
    assert header_fields(declared)["erases"] == '{"key_ids":["k1"]}'
    assert record_hash(declared) != record_hash(record)
    assert record_from_dict(record_to_dict(declared)) == dataclasses.replace(declared, ciphertext=None)


def test_hash_and_associated_data_of_a_record_without_erases_are_unchanged() -> None:
    # Computed by the code before the erases column existed: existing logs keep verifying.
    record = decode_row(row())
    assert isinstance(record, StoredRecord)
    assert record_hash(record) == "a466e928458413af3bd581da11a9f2f4b4c3003b85d11fd24cf8ad1cedf16066"
    aad = hashlib.sha256(record_aad(record)).hexdigest()
    assert aad == "69ad756b08458103811ade03b58061512b75fc2e6f18e3cb2ff73cc0f0d50ada"
