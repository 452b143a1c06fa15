"""Key ring, envelope encryption, canonical hashing and the external checkpoint file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from audit import crypto
from audit.checkpoints import append_checkpoint, read_checkpoints
from audit.errors import AuditIntegrityError, KeyUnavailable
from audit.keyring import LocalKeyFileProvider, SubjectHasher, WrappedKey, dek_context
from audit.records import AuditEvent, canonical_json, encode_counts
from audit.signing import CheckpointSigner


async def test_local_provider_creates_a_private_first_version_and_round_trips(tmp_path: Path) -> None:
    provider = LocalKeyFileProvider(tmp_path / "keys")
    assert await provider.current_version() == 1
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "kek-v1.key").stat().st_mode) == 0o600
    dek = crypto.new_key()
    wrapped = await provider.wrap(dek, dek_context("k1", "s:abc"))
    assert dek not in wrapped.blob
    assert await provider.unwrap(wrapped, dek_context("k1", "s:abc")) == dek
    key_hex = (tmp_path / "keys" / "kek-v1.key").read_bytes().hex()
    assert key_hex not in repr(provider) and dek.hex() not in repr(wrapped)


async def test_wrapped_key_is_bound_to_its_key_id_and_scope(tmp_path: Path) -> None:
    provider = LocalKeyFileProvider(tmp_path)
    wrapped = await provider.wrap(crypto.new_key(), dek_context("k1", "s:abc"))
    with pytest.raises(KeyUnavailable):
        await provider.unwrap(wrapped, dek_context("k1", "s:other"))


async def test_new_version_becomes_current_old_ones_decrypt_until_destroyed(tmp_path: Path) -> None:
    provider = LocalKeyFileProvider(tmp_path)
    old = await provider.wrap(b"d" * 32, b"ctx")
    assert await provider.create_version() == 2
    other_process = LocalKeyFileProvider(tmp_path)
    assert (await other_process.wrap(b"d" * 32, b"ctx")).version == 2
    assert await provider.unwrap(old, b"ctx") == b"d" * 32
    with pytest.raises(KeyUnavailable):
        await provider.destroy_version(2)
    await provider.destroy_version(1)
    assert await provider.available_versions() == (2,)
    with pytest.raises(KeyUnavailable):
        await LocalKeyFileProvider(tmp_path).unwrap(WrappedKey(1, old.blob), b"ctx")


def test_payload_encryption_binds_the_header() -> None:
    key = crypto.new_key()
    blob = crypto.seal(key, b"secret", b"header-1")
    assert crypto.open_sealed(key, blob, b"header-1") == b"secret"
    with pytest.raises(AuditIntegrityError):
        crypto.open_sealed(key, blob, b"header-2")
    assert crypto.seal(key, b"secret", b"h")[:12] != crypto.seal(key, b"secret", b"h")[:12]  # fresh nonces


def test_subject_reference_is_keyed() -> None:
    a, b = SubjectHasher(b"a" * 32), SubjectHasher(b"b" * 32)
    assert a.ref("patient-1") == a.ref("patient-1") != b.ref("patient-1")
    assert len(a.ref("patient-1")) == 64 and "patient" not in a.ref("patient-1")


def test_canonical_encoding_is_order_independent_and_counts_are_validated() -> None:
    assert canonical_json({"b": 1, "a": [1, "x"]}) == canonical_json({"a": [1, "x"], "b": 1})
    assert encode_counts({"PHONE": 2, "EMAIL": 1}) == '{"EMAIL":1,"PHONE":2}'
    with pytest.raises(TypeError):
        encode_counts({"PERSON": "Hans Muster"})  # type: ignore[dict-item]


def test_event_repr_hides_subject_and_payload() -> None:
    text = repr(AuditEvent(kind="chat.request", subject_id="patient-99", payload={"prompt": "diagnosis"}))
    assert "patient-99" not in text and "diagnosis" not in text


def test_external_checkpoint_file_round_trips_and_flags_malformed_lines(tmp_path: Path) -> None:
    signer = CheckpointSigner.load_or_create(tmp_path / "keys")
    path = tmp_path / "witness" / "cp.jsonl"
    for seq in (5, 10):
        append_checkpoint(path, signer.checkpoint(seq, "ab" * 32, 1000 + seq))
    read = read_checkpoints(path)
    assert [c.seq for c in read.checkpoints] == [5, 10] and read.malformed_lines == []
    assert all(signer.verifier.verify_checkpoint(c) for c in read.checkpoints)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\nnot json\n" + lines[1] + "\n" + '{"seq": 1')
    read = read_checkpoints(path)
    assert [c.seq for c in read.checkpoints] == [5, 10] and read.malformed_lines == [2]
    assert read_checkpoints(tmp_path / "absent.jsonl").checkpoints == []
    assert json.loads(lines[0])["signature"]


def test_signing_key_is_created_once_and_reloaded(tmp_path: Path) -> None:
    first = CheckpointSigner.load_or_create(tmp_path)
    second = CheckpointSigner.load_or_create(tmp_path)
    assert first.key_id == second.key_id
    key_file = next(tmp_path.glob("*.ed25519"))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().hex() not in repr(first)


def test_provider_satisfies_the_protocol(tmp_path: Path) -> None:
    from audit.keyring import KeyProvider

    assert isinstance(LocalKeyFileProvider(tmp_path), KeyProvider)


def test_data_key_cache_evicts_the_least_recently_used_key() -> None:
    from audit.keyring import DekCache

    cache = DekCache(max_entries=2)
    cache.put("a", b"A" * 32)
    cache.put("b", b"B" * 32)
    assert cache.get("a") == b"A" * 32  # "a" is now the most recently used
    cache.put("c", b"C" * 32)
    assert cache.get("b") is None
    assert cache.get("a") == b"A" * 32 and cache.get("c") == b"C" * 32
    cache.discard("a")
    assert cache.get("a") is None
    assert "AAAA" not in repr(cache) and "entries=1" in repr(cache)
