"""Key-ring snapshots with a real audit log (SQLite): a snapshot restores a working key ring, and an
erasure is complete for a database backup once every snapshot holding the retired KEK is pruned."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_helpers import SUBJECT, db_path, event, make_settings

from audit.errors import KeyUnavailable
from audit.keyring import LocalKeyFileProvider, WrappedKey, dek_context
from audit.keyring_snapshots import (
    SnapshotError,
    list_snapshots,
    prune_snapshots,
    restore_snapshot,
    take_snapshot,
)
from audit.rotation import retire_kek, rotate_kek
from audit.store import AuditLog, AuditSettings

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(days=30)
SNAPSHOT_KEY = bytes(range(32))


async def test_a_snapshot_restores_a_key_ring_that_decrypts_records_written_before(
    settings: AuditSettings, tmp_path: Path
) -> None:
    log = await AuditLog.open(settings)
    seqs = [
        (await log.append(event(i, subject=SUBJECT if i % 2 else None, marker="zq-restore"))).seq
        for i in range(1, 5)
    ]
    await log.close()
    info = take_snapshot(settings.key_dir, tmp_path / "snaps", SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)

    shutil.rmtree(settings.key_dir)  # the key ring is lost
    lost = await AuditLog.open(make_settings(tmp_path / "fresh", url=settings.url))
    try:
        assert (await lost.get(seqs[0], with_content=True)).content_status == "key_unavailable"  # type: ignore[union-attr]
    finally:
        await lost.close()

    restore_snapshot(info.path, settings.key_dir, SNAPSHOT_KEY, now=T0 + timedelta(days=2), max_age=MAX_AGE)
    restored = await AuditLog.open(settings)
    try:
        for seq in seqs:
            view = await restored.get(seq, with_content=True)
            assert view is not None and view.content_status == "ok"
            assert "zq-restore" in view.content["text"]
        await restored.append(event(9, subject=SUBJECT))
        assert (await restored.verify()).ok
    finally:
        await restored.close()


def backup_database(settings: AuditSettings, target: Path) -> Path:
    """A consistent copy of the live SQLite database, as a nightly backup would take it."""
    source = sqlite3.connect(db_path(settings))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target


def wrapped_subject_key(backup: Path, subject_ref: str) -> tuple[WrappedKey, bytes]:
    with sqlite3.connect(backup) as conn:
        key_id, scope, version, wrapped = conn.execute(
            "SELECT key_id, scope, kek_version, wrapped FROM audit_deks WHERE scope = ?",
            (f"s:{subject_ref}",),
        ).fetchone()
    return WrappedKey(int(version), bytes(wrapped)), dek_context(key_id, scope)


async def test_erased_subject_in_an_old_backup_is_readable_only_until_the_pre_erasure_snapshot_is_pruned(
    settings: AuditSettings, tmp_path: Path
) -> None:
    snaps = tmp_path / "snaps"
    log = await AuditLog.open(settings)
    erased_seq = (await log.append(event(1, subject=SUBJECT, marker="zq-erased"))).seq
    await log.append(event(2, subject="someone-else"))
    ref = log.subject_ref(SUBJECT)
    pre = take_snapshot(settings.key_dir, snaps, SNAPSHOT_KEY, now=T0, max_age=MAX_AGE)
    backup = backup_database(settings, tmp_path / "backup.db")

    await log.shred_subject(ref)
    await log.close()
    rotation = await rotate_kek(settings)  # then retire the KEK that wrapped the erased key
    for version in rotation.retirable_versions:
        await retire_kek(settings, version)
    post = take_snapshot(settings.key_dir, snaps, SNAPSHOT_KEY, now=T0 + timedelta(days=1), max_age=MAX_AGE)

    wrapped, context = wrapped_subject_key(backup, ref)
    assert wrapped.version == 1 and post.kek_versions == (2,) and pre.kek_versions == (1,)
    with pytest.raises(KeyUnavailable):
        await LocalKeyFileProvider(settings.key_dir).unwrap(wrapped, context)

    # Until it expires, the pre-erasure snapshot still opens the backup: the erasure is not complete there.
    with_pre = tmp_path / "with-pre"
    restore_snapshot(pre.path, with_pre, SNAPSHOT_KEY, now=T0 + timedelta(days=10), max_age=MAX_AGE)
    assert len(await LocalKeyFileProvider(with_pre).unwrap(wrapped, context)) == 32
    old = await AuditLog.open(
        make_settings(tmp_path / "old", url=f"sqlite+aiosqlite:///{backup}", key_dir=with_pre)
    )
    try:
        view = await old.get(erased_seq, with_content=True)
        assert view is not None and view.content_status == "ok" and "zq-erased" in view.content["text"]
    finally:
        await old.close()

    pruned = prune_snapshots(snaps, now=T0 + MAX_AGE, max_age=MAX_AGE)

    assert pruned.deleted == (pre.snapshot_id,) and pruned.kept == (post.snapshot_id,)
    assert not pre.path.exists()
    with pytest.raises(SnapshotError):
        restore_snapshot(pre.path, tmp_path / "again", SNAPSHOT_KEY, now=T0 + MAX_AGE, max_age=MAX_AGE)
    for n, remaining in enumerate(list_snapshots(snaps, max_age=MAX_AGE)):
        ring = tmp_path / f"remaining-{n}"
        restore_snapshot(remaining.path, ring, SNAPSHOT_KEY, now=T0 + MAX_AGE, max_age=MAX_AGE)
        with pytest.raises(KeyUnavailable):
            await LocalKeyFileProvider(ring).unwrap(wrapped, context)
