"""Key-ring snapshots: sealed, private, expiring after a maximum age, restorable (injected clock)."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit import crypto
from audit.keyring import (
    SIGNING_KEY_FILE,
    SUBJECT_KEY_FILE,
    LocalKeyFileProvider,
    WrappedKey,
    dek_context,
    shred_file,
)
from audit.keyring_snapshots import (
    MANIFEST_FILE,
    SEALED_FILE,
    SnapshotError,
    list_snapshots,
    prune_snapshots,
    restore_snapshot,
    take_snapshot,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=30)
SNAPSHOT_KEY = bytes(range(32))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def make_ring(key_dir: Path, versions: int = 2) -> dict[str, bytes]:
    """A key ring as the audit log leaves it: KEK versions, signing key, subject key."""
    provider = LocalKeyFileProvider(key_dir)
    for _ in range(versions - 1):
        await provider.create_version()
    (key_dir / SIGNING_KEY_FILE).write_bytes(os.urandom(32))
    (key_dir / SUBJECT_KEY_FILE).write_bytes(os.urandom(32))
    return {p.name: p.read_bytes() for p in key_dir.iterdir()}


def key_shapes(files: dict[str, bytes]) -> list[bytes]:
    shapes: list[bytes] = []
    for data in files.values():
        shapes += [data, data.hex().encode(), base64.b64encode(data), base64.b64encode(data)[:40]]
    return shapes


async def test_snapshot_is_private_sealed_and_names_its_versions_and_expiry(tmp_path: Path) -> None:
    ring = await make_ring(tmp_path / "keys")
    info = take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)

    assert info.path.parent == tmp_path / "snaps" and info.snapshot_id == "20250301T120000000000Z"
    assert mode(tmp_path / "snaps") == 0o700 and mode(info.path) == 0o700
    assert sorted(p.name for p in info.path.iterdir()) == [SEALED_FILE, MANIFEST_FILE]
    assert all(mode(p) == 0o600 for p in info.path.iterdir())
    manifest = json.loads((info.path / MANIFEST_FILE).read_text())
    assert manifest["created_at"] == T0.isoformat()
    assert manifest["expires_at"] == (T0 + MAX_AGE).isoformat()
    assert manifest["kek_versions"] == [1, 2] and info.kek_versions == (1, 2)
    on_disk = b"".join(p.read_bytes() for p in info.path.iterdir())
    assert not any(shape in on_disk for shape in key_shapes(ring))


async def test_restore_into_an_empty_key_dir_gives_back_a_working_ring(tmp_path: Path) -> None:
    ring = await make_ring(tmp_path / "keys")
    wrapped = await LocalKeyFileProvider(tmp_path / "keys").wrap(b"d" * 32, dek_context("k1", "s:x"))
    info = take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)

    target = tmp_path / "restored"
    summary = restore_snapshot(info.path, target, SNAPSHOT_KEY, now=T0 + timedelta(days=1), max_age=MAX_AGE)

    assert summary.kek_versions == (1, 2) and summary.files_restored == 4 and summary.files_replaced == 0
    assert {p.name: p.read_bytes() for p in target.iterdir()} == ring
    assert mode(target) == 0o700 and all(mode(p) == 0o600 for p in target.iterdir())
    assert await LocalKeyFileProvider(target).unwrap(wrapped, dek_context("k1", "s:x")) == b"d" * 32
    assert not any(shape in repr(summary).encode() for shape in key_shapes(ring))


async def test_prune_deletes_exactly_the_snapshots_past_the_maximum_age(tmp_path: Path) -> None:
    await make_ring(tmp_path / "keys")
    now = T0 + timedelta(days=60)
    ages = {
        "older": MAX_AGE + timedelta(days=1),
        "exactly max age": MAX_AGE,
        "a second younger": MAX_AGE - timedelta(seconds=1),
        "a day old": timedelta(days=1),
    }
    ids = {
        label: take_snapshot(
            tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=now - age, max_age=MAX_AGE
        ).snapshot_id
        for label, age in ages.items()
    }

    summary = prune_snapshots(tmp_path / "snaps", now=now, max_age=MAX_AGE)

    assert summary.deleted == (ids["older"], ids["exactly max age"])
    assert summary.kept == (ids["a second younger"], ids["a day old"])
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == sorted(summary.kept)
    assert prune_snapshots(tmp_path / "snaps", now=now, max_age=MAX_AGE).deleted == ()


async def test_a_lower_maximum_age_shortens_snapshots_already_taken(tmp_path: Path) -> None:
    await make_ring(tmp_path / "keys")
    take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)

    (listed,) = list_snapshots(tmp_path / "snaps", max_age=timedelta(days=7))
    assert listed.expires_at == T0 + timedelta(days=7)
    assert not listed.expired(T0 + timedelta(days=6)) and listed.expired(T0 + timedelta(days=7))
    (longer,) = list_snapshots(tmp_path / "snaps", max_age=timedelta(days=90))
    assert longer.expires_at == T0 + MAX_AGE  # a higher setting never extends what was promised


async def test_restore_refuses_a_live_key_ring_unless_forced(tmp_path: Path) -> None:
    ring = await make_ring(tmp_path / "keys")
    info = take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    live = tmp_path / "live"
    await make_ring(live, versions=3)
    before = {p.name: p.read_bytes() for p in live.iterdir()}

    with pytest.raises(SnapshotError, match="--force"):
        restore_snapshot(info.path, live, SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    assert {p.name: p.read_bytes() for p in live.iterdir()} == before

    summary = restore_snapshot(info.path, live, SNAPSHOT_KEY, now=T0, max_age=MAX_AGE, force=True)
    assert summary.files_replaced == 4 and summary.live_versions_kept == (3,)
    after = {p.name: p.read_bytes() for p in live.iterdir()}
    assert {name: after[name] for name in ring} == ring and after["kek-v3.key"] == before["kek-v3.key"]
    assert all(mode(p) == 0o600 for p in live.iterdir())


async def test_restore_refuses_an_expired_snapshot_not_yet_pruned(tmp_path: Path) -> None:
    await make_ring(tmp_path / "keys")
    info = take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    with pytest.raises(SnapshotError, match="expired"):
        restore_snapshot(info.path, tmp_path / "new", SNAPSHOT_KEY, now=T0 + MAX_AGE, max_age=MAX_AGE)
    assert not (tmp_path / "new").exists()


async def test_an_altered_manifest_or_another_snapshot_key_is_refused(tmp_path: Path) -> None:
    await make_ring(tmp_path / "keys")
    info = take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    with pytest.raises(SnapshotError, match="another snapshot key"):
        restore_snapshot(info.path, tmp_path / "a", os.urandom(32), now=T0, max_age=MAX_AGE)

    manifest_path = info.path / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest["kek_versions"] = [2]
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with pytest.raises(SnapshotError, match="does not authenticate"):
        restore_snapshot(info.path, tmp_path / "b", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


async def test_snapshot_of_a_key_ring_without_kek_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / SUBJECT_KEY_FILE).write_bytes(os.urandom(32))
    with pytest.raises(SnapshotError, match="no KEK"):
        take_snapshot(tmp_path / "keys", tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    assert not (tmp_path / "snaps").exists()


async def test_a_partial_snapshot_left_by_a_crash_is_pruned_by_the_same_age_rule(tmp_path: Path) -> None:
    await make_ring(tmp_path / "keys")
    snaps = tmp_path / "snaps"
    take_snapshot(tmp_path / "keys", snaps, SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    partial = snaps / ".20250301T120000000000Z.0123456789ab.partial"
    partial.mkdir()
    (partial / SEALED_FILE).write_bytes(b"sealed keys")

    assert prune_snapshots(snaps, now=T0 + MAX_AGE - timedelta(seconds=1), max_age=MAX_AGE).deleted == ()
    assert partial.exists()
    deleted = prune_snapshots(snaps, now=T0 + MAX_AGE, max_age=MAX_AGE).deleted
    assert deleted == ("20250301T120000000000Z", partial.name)
    assert list(snaps.iterdir()) == []


def test_shred_file_overwrites_the_content_before_unlinking(tmp_path: Path) -> None:
    secret = os.urandom(4096 + 7)
    path = tmp_path / "kek-v9.key"
    path.write_bytes(secret)
    witness = tmp_path / "same-inode"
    os.link(path, witness)  # sees the blocks the name pointed to

    shred_file(path)

    assert not path.exists()
    left = witness.read_bytes()
    assert len(left) == len(secret) and left != secret


def test_shred_file_removes_a_link_without_touching_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep me")
    link = tmp_path / "link"
    link.symlink_to(target)
    shred_file(link)
    assert not link.is_symlink() and target.read_bytes() == b"keep me"


async def test_destroyed_kek_version_is_overwritten_then_removed(tmp_path: Path) -> None:
    provider = LocalKeyFileProvider(tmp_path)
    await provider.create_version()
    old = (tmp_path / "kek-v1.key").read_bytes()
    os.link(tmp_path / "kek-v1.key", tmp_path / "witness")
    await provider.destroy_version(1)
    assert not (tmp_path / "kek-v1.key").exists() and (tmp_path / "witness").read_bytes() != old
    wrapped = WrappedKey(2, crypto.seal((tmp_path / "kek-v2.key").read_bytes(), b"k" * 32, b"c"))
    assert await provider.unwrap(wrapped, b"c") == b"k" * 32


def test_the_maximum_age_setting_defaults_to_30_days_and_is_bounded() -> None:
    from gateway.settings import ConfigError, load_settings

    assert load_settings(None, environ={}).audit.keyring_snapshot_max_age_days == 30
    env = {"GATEWAY_AUDIT__KEYRING_SNAPSHOT_MAX_AGE_DAYS": "7"}
    assert load_settings(None, environ=env).audit.keyring_snapshot_max_age_days == 7
    for bad in ("0", "3651", "-1", "thirty"):
        with pytest.raises(ConfigError, match="keyring_snapshot_max_age_days"):
            load_settings(None, environ={"GATEWAY_AUDIT__KEYRING_SNAPSHOT_MAX_AGE_DAYS": bad})
