"""Key-ring snapshots: encrypted copies of the local key ring that expire after a maximum age.

A database backup still holds every data key, wrapped. Only a key ring holding the KEK version that
wrapped it can unwrap it, so the key ring is backed up apart from the database, and those copies
expire: once every copy holding a retired KEK version is gone, the data keys erased before that
version was retired are gone from every database backup too (docs/data-subject-requests.md).

A snapshot is a directory ``<root>/<UTC time>/`` (0700) with two 0600 files:

* ``manifest.json``: format, id, ``created_at``, ``expires_at``, the KEK versions and file names it
  holds, and the id of the snapshot key that seals it. Nothing secret.
* ``keyring.sealed``: the key-ring files (KEK versions, checkpoint signing key, subject key) sealed
  with AES-256-GCM under the *snapshot key*, with the manifest's exact bytes as associated data, so
  an altered manifest (a later expiry, other versions) makes the snapshot unusable.

The snapshot key lives outside the key ring and outside the snapshots; keep a copy of it apart
from the snapshots (a vault, offline), because restoring needs it. Times come from the caller
(``now``), so tests run on an injected clock. Every function is synchronous file work for the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from audit import crypto
from audit.errors import AuditError, AuditIntegrityError
from audit.files import (
    ensure_private_dir,
    fsync_dir,
    load_or_create_secret,
    read_secret_file,
    write_private_file,
)
from audit.keyring import kek_version_of, key_ring_file_size, shred_file

FORMAT = "gateway-keyring-snapshot-v1"
MANIFEST_FILE = "manifest.json"
SEALED_FILE = "keyring.sealed"
SNAPSHOT_KEY_FILE = "keyring-snapshot.key"
_AAD_PREFIX = b"gateway-keyring-snapshot-v1|"
_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
# A snapshot directory: its UTC creation time, and a counter when two share a microsecond.
_SNAPSHOT_NAME = re.compile(r"^(\d{8}T\d{12}Z)(?:-(\d{1,6}))?$")
# A snapshot being written (or left by a crash while it was): pruned by the same age rule.
_STAGING_NAME = re.compile(r"^\.(\d{8}T\d{12}Z)\.[0-9a-f]{12}\.partial$")


class SnapshotError(AuditError):
    """A snapshot cannot be taken, read or restored; the message names files, never key bytes."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot as listed: when it was taken, when it expires, which KEK versions it holds.

    ``expires_at`` is the earlier of the expiry written when it was taken and ``created_at`` plus
    the maximum age configured now, so lowering the setting shortens every snapshot's life.
    ``manifest_ok`` is False when the manifest cannot be read (the directory name gives the time).
    """

    snapshot_id: str
    path: Path
    created_at: datetime
    expires_at: datetime
    kek_versions: tuple[int, ...]
    manifest_ok: bool

    def expired(self, now: datetime) -> bool:
        """True from ``expires_at`` on: prune deletes it and restore refuses it."""
        return _utc(now) >= self.expires_at

    def age(self, now: datetime) -> timedelta:
        """Time since the snapshot was taken."""
        return _utc(now) - self.created_at


@dataclass(frozen=True)
class PruneSummary:
    deleted: tuple[str, ...]  # snapshot ids (and leftover partial snapshots) shredded
    kept: tuple[str, ...]


@dataclass(frozen=True)
class RestoreSummary:
    snapshot_id: str
    kek_versions: tuple[int, ...]
    files_restored: int
    files_replaced: int  # live key-ring files overwritten (only with force)
    live_versions_kept: tuple[int, ...]  # live KEK versions the snapshot lacks, left in place


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("snapshot times must be timezone-aware")
    return moment.astimezone(UTC)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def snapshot_key_id(snapshot_key: bytes) -> str:
    """A short public id of a snapshot key (so restore can tell a wrong key from a damaged file)."""
    return hashlib.sha256(b"keyring-snapshot-key-id|" + snapshot_key).hexdigest()[:16]


def load_snapshot_key(path: Path, *, create: bool) -> bytes:
    """The 32-byte snapshot key in ``path``; created (0600 in a 0700 directory) only with ``create``."""
    try:
        return load_or_create_secret(path) if create else read_secret_file(path, crypto.KEY_BYTES)
    except FileNotFoundError:
        raise SnapshotError(
            f"no snapshot key {path.name}: pass the key file kept apart from the snapshots"
        ) from None
    except (RuntimeError, OSError):
        raise SnapshotError(f"the snapshot key {path.name} cannot be read or has the wrong length") from None


def _read_key_ring(key_dir: Path) -> dict[str, bytes]:
    try:
        names = sorted(name for name in os.listdir(key_dir) if key_ring_file_size(name))
    except FileNotFoundError:
        names = []
    files: dict[str, bytes] = {}
    for name in names:
        try:
            files[name] = read_secret_file(key_dir / name, key_ring_file_size(name) or 0)
        except (RuntimeError, OSError):
            raise SnapshotError(f"key-ring file {name} cannot be read or has the wrong length") from None
    if not any(kek_version_of(name) for name in files):
        raise SnapshotError("the key ring holds no KEK version to snapshot")
    return files


def _versions(names: list[str] | tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted(v for v in (kek_version_of(name) for name in names) if v is not None))


def take_snapshot(
    key_dir: Path, root: Path, snapshot_key: bytes, *, now: datetime, max_age: timedelta
) -> SnapshotInfo:
    """Seal the key ring in ``key_dir`` into a new snapshot under ``root``, expiring ``max_age`` after
    ``now``. The snapshot appears whole or not at all (written aside, then renamed into place)."""
    created = _utc(now)
    files = _read_key_ring(key_dir)
    snapshot_id = created.strftime(_TIME_FORMAT)
    expires = created + max_age
    manifest = {
        "format": FORMAT,
        "snapshot_id": snapshot_id,
        "created_at": created.isoformat(),
        "expires_at": expires.isoformat(),
        "kek_versions": list(_versions(list(files))),
        "files": list(files),
        "cipher": "AES-256-GCM",
        "snapshot_key_id": snapshot_key_id(snapshot_key),
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    sealed = crypto.seal(snapshot_key, msgspec.json.encode(files), _AAD_PREFIX + manifest_bytes)
    ensure_private_dir(root)
    staging = root / f".{snapshot_id}.{os.urandom(6).hex()}.partial"
    os.mkdir(staging, 0o700)
    try:
        write_private_file(staging / SEALED_FILE, sealed)
        write_private_file(staging / MANIFEST_FILE, manifest_bytes)
        final = _free_name(root, snapshot_id)
        os.rename(staging, final)
    except BaseException:
        _shred_tree(staging)
        raise
    fsync_dir(root)
    return SnapshotInfo(final.name, final, created, expires, _versions(list(files)), True)


def _free_name(root: Path, snapshot_id: str) -> Path:
    candidate, n = root / snapshot_id, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{snapshot_id}-{n}"
    return candidate


def _read_manifest(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    try:
        raw = (path / MANIFEST_FILE).read_bytes()
        manifest = json.loads(raw)
    except (OSError, ValueError):
        return None
    return (raw, manifest) if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def _describe(path: Path, max_age: timedelta) -> SnapshotInfo | None:
    match = _SNAPSHOT_NAME.match(path.name)
    if not match or not path.is_dir() or path.is_symlink():
        return None
    created = _parse_time(match.group(1))
    expires = created + max_age
    read = _read_manifest(path)
    versions: tuple[int, ...] = ()
    if read is not None:
        manifest = read[1]
        try:
            # The earlier time wins either way: a snapshot never outlives what it promised.
            created = min(created, _utc(datetime.fromisoformat(manifest["created_at"])))
            expires = min(created + max_age, _utc(datetime.fromisoformat(manifest["expires_at"])))
            versions = tuple(sorted(int(v) for v in manifest["kek_versions"]))
        except (KeyError, TypeError, ValueError):
            read = None
    return SnapshotInfo(path.name, path, created, expires, versions, read is not None)


def list_snapshots(root: Path, *, max_age: timedelta) -> list[SnapshotInfo]:
    """The snapshots under ``root``, oldest first; other entries there are ignored."""
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    found = [info for name in entries if (info := _describe(root / name, max_age)) is not None]
    return sorted(found, key=lambda info: (info.created_at, info.snapshot_id))


def _shred_tree(path: Path) -> None:
    """Shred every file below ``path`` (links are removed, never followed), then the directories."""
    if path.is_symlink() or not path.is_dir():
        shred_file(path)
        return
    for entry in os.scandir(path):
        child = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            _shred_tree(child)
        else:
            shred_file(child)
    path.rmdir()


def delete_snapshot(info: SnapshotInfo) -> None:
    """Overwrite the snapshot's files, then remove it (best effort, see :func:`shred_file`)."""
    _shred_tree(info.path)
    fsync_dir(info.path.parent)


def prune_snapshots(root: Path, *, now: datetime, max_age: timedelta) -> PruneSummary:
    """Delete every snapshot under ``root`` that has expired at ``now`` (age ``max_age`` or more, or
    past the expiry it was taken with), and partial snapshots left as old; keep the rest."""
    moment = _utc(now)
    deleted: list[str] = []
    kept: list[str] = []
    for info in list_snapshots(root, max_age=max_age):
        if info.expired(moment):
            delete_snapshot(info)
            deleted.append(info.snapshot_id)
        else:
            kept.append(info.snapshot_id)
    for name in sorted(os.listdir(root)) if root.is_dir() else []:
        match = _STAGING_NAME.match(name)
        if match and moment >= _parse_time(match.group(1)) + max_age:
            _shred_tree(root / name)
            deleted.append(name)
    return PruneSummary(tuple(deleted), tuple(kept))


def _open_snapshot(path: Path, snapshot_key: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    read = _read_manifest(path)
    if read is None:
        raise SnapshotError(f"{path.name} is not a readable key-ring snapshot (no valid {MANIFEST_FILE})")
    manifest_bytes, manifest = read
    if manifest.get("snapshot_key_id") != snapshot_key_id(snapshot_key):
        raise SnapshotError("this snapshot was sealed with another snapshot key")
    try:
        sealed = (path / SEALED_FILE).read_bytes()
        plain = crypto.open_sealed(snapshot_key, sealed, _AAD_PREFIX + manifest_bytes)
        files = msgspec.json.decode(plain, type=dict[str, bytes])
    except (OSError, AuditIntegrityError, msgspec.DecodeError):
        raise SnapshotError("the snapshot does not authenticate (damaged or altered)") from None
    for name, data in files.items():
        if key_ring_file_size(name) != len(data):
            raise SnapshotError(f"the snapshot holds an unexpected key-ring file {name}")
    if sorted(files) != sorted(manifest.get("files", ())) or not _versions(list(files)):
        raise SnapshotError("the snapshot's files do not match its manifest")
    return manifest, files


def restore_snapshot(
    snapshot: Path,
    key_dir: Path,
    snapshot_key: bytes,
    *,
    now: datetime,
    max_age: timedelta,
    force: bool = False,
) -> RestoreSummary:
    """Write the key ring sealed in ``snapshot`` into ``key_dir`` as 0600 files (0700 directory).

    Refuses an expired snapshot (restoring it would bring back KEK versions an erasure relies on
    being gone), and a ``key_dir`` that already holds key-ring files unless ``force``; with
    ``force`` the snapshot's files replace the live ones of the same name and live KEK versions
    the snapshot lacks stay. Stop every gateway process first: they cache the keys they read.
    """
    info = _describe(snapshot, max_age)
    if info is None:
        raise SnapshotError(f"{snapshot.name} is not a key-ring snapshot directory")
    if info.expired(now):
        raise SnapshotError(f"snapshot {info.snapshot_id} expired at {info.expires_at.isoformat()}")
    manifest, files = _open_snapshot(snapshot, snapshot_key)
    try:
        live = sorted(name for name in os.listdir(key_dir) if key_ring_file_size(name))
    except FileNotFoundError:
        live = []
    if live and not force:
        raise SnapshotError(f"the key ring already holds {len(live)} key files; pass --force to overwrite it")
    ensure_private_dir(key_dir)
    for name in sorted(files):
        write_private_file(key_dir / name, files[name])
    return RestoreSummary(
        snapshot_id=str(manifest.get("snapshot_id", info.snapshot_id)),
        kek_versions=_versions(list(files)),
        files_restored=len(files),
        files_replaced=len(set(live) & set(files)),
        live_versions_kept=_versions([name for name in live if name not in files]),
    )
