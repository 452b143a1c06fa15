"""``gateway audit verify|export|verify-bundle|public-key`` and ``gateway keyring
rotate|snapshot|snapshots|prune|restore``.

Exit codes of ``audit verify`` and ``verify-bundle``: 0 intact, 1 tampered (the first bad record is
named) or, for ``verify-bundle --public-key``, signed by another key; 2 the check could not run (no
database, missing keys, unreadable file). A stored value that does not decode is tampering (1).
The snapshot commands exit 1 when a snapshot cannot be taken, read or restored (the reason is on
stderr, or in the JSON ``error``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.auth.cli import operator
from gateway.plain import to_plain
from gateway.settings import Settings

if TYPE_CHECKING:  # the audit log (SQLAlchemy, Alembic) loads when a command runs
    from audit.keyring_snapshots import SnapshotInfo
    from audit.store import AuditLog

T = TypeVar("T")


async def _with_log(settings: Settings, action: Callable[[AuditLog], Awaitable[T]]) -> T:
    from audit.store import AuditLog
    from gateway.services import audit_settings, create_db_engine

    db = create_db_engine(settings)
    try:
        audit_log = await AuditLog.open(audit_settings(settings), engine=db)
        try:
            return await action(audit_log)
        finally:
            await audit_log.close()
    finally:
        await db.dispose()


async def _record(audit_log: AuditLog, kind: str, decision: str, details: dict[str, Any]) -> None:
    from gateway.audit_events import operator_event

    await audit_log.append(operator_event(kind, operator(), "cli", details, decision=decision))


def _report_text(report: dict[str, Any]) -> str:
    if report.get("ok"):
        checked, checkpoints = report.get("checked"), report.get("checkpoints_checked")
        return f"audit log intact: {checked} records, {checkpoints} checkpoints"
    return f"audit log TAMPERED at seq {report.get('first_bad_seq')}: {report.get('reason')}"


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from audit.errors import AuditError

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        report = to_plain(await audit_log.verify())
        try:
            await _record(
                audit_log,
                "audit.verify",
                "allow",
                {"ok": report.get("ok"), "first_bad_seq": report.get("first_bad_seq")},
            )
        except AuditError as exc:
            # The verification ran; a log too damaged to append to does not make it "could not run".
            print(f"warning: this verification could not be recorded: {type(exc).__name__}", file=sys.stderr)
        return dict(report)

    try:
        report = asyncio.run(_with_log(settings, action))
    except Exception as exc:
        print(
            json.dumps({"ok": None, "error": type(exc).__name__})
            if args.json
            else f"cannot verify: {type(exc).__name__}: {exc}"
        )
        return 2
    print(json.dumps(report) if args.json else _report_text(report))
    return 0 if report.get("ok") else 1


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    out = Path(args.out)

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        summary = to_plain(
            await audit_log.export(
                _time(args.since),
                _time(args.until),
                out,
                with_content=args.with_content,
                caller_tenant=args.tenant,
            )
        )
        await _record(
            audit_log,
            "audit.export",
            "allow",
            {
                "since": args.since,
                "until": args.until,
                "with_content": args.with_content,
                "tenant": args.tenant,
            },
        )
        return dict(summary)

    summary = asyncio.run(_with_log(settings, action))
    print(json.dumps(summary) if args.json else f"exported to {out}: {summary}")
    return 0


def _bundle_text(report: dict[str, Any]) -> str:
    signer = report.get("signer_key_id")
    if not report.get("ok"):
        if report.get("first_bad_seq") is None:
            return f"bundle REJECTED: {report.get('reason')}"
        return f"bundle TAMPERED at seq {report.get('first_bad_seq')}: {report.get('reason')}"
    counts = f"{report.get('checked')} records, {report.get('checkpoints_checked')} checkpoints"
    if report.get("origin_checked"):
        return f"bundle intact and signed by the given key {signer}: {counts}"
    return (
        f"bundle intact; origin not checked: pass --public-key ({counts}; signed by key {signer}, "
        "which anyone could have made)"
    )


def _cmd_verify_bundle(args: argparse.Namespace, _settings: Settings) -> int:
    from audit.export import verify_bundle
    from audit.signing import parse_public_key

    try:
        public_key = parse_public_key(Path(args.public_key).read_text()) if args.public_key else None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(
            json.dumps({"ok": None, "error": "public_key_unreadable"})
            if args.json
            else f"cannot verify bundle: the public key file cannot be read ({type(exc).__name__})"
        )
        return 2
    try:
        report = to_plain(verify_bundle(Path(args.file), public_key=public_key))
    except Exception as exc:
        print(
            json.dumps({"ok": None, "error": type(exc).__name__})
            if args.json
            else f"cannot verify bundle: {type(exc).__name__}: {exc}"
        )
        return 2
    if report.get("reason") == "bundle cannot be read":
        print(json.dumps(report) if args.json else f"cannot verify bundle: {report.get('reason')}")
        return 2
    print(json.dumps(report) if args.json else _bundle_text(report))
    return 0 if report.get("ok") else 1


def _cmd_public_key(args: argparse.Namespace, settings: Settings) -> int:
    from audit.errors import KeyUnavailable
    from audit.signing import CheckpointSigner, public_key_fingerprint, public_key_id, public_key_text
    from gateway.services import audit_settings

    try:
        public_raw = CheckpointSigner.load(audit_settings(settings).key_dir).public_raw
    except KeyUnavailable as exc:
        print(json.dumps({"ok": None, "error": "key_unavailable"}) if args.json else f"no public key: {exc}")
        return 2
    info = {
        "algorithm": "ed25519",
        "public_key": public_raw.hex(),
        "key_id": public_key_id(public_raw),
        "fingerprint": public_key_fingerprint(public_raw),
    }
    if args.out:
        Path(args.out).write_text(public_key_text(public_raw))
        info["out"] = str(args.out)
    if args.json:
        print(json.dumps(info))
    elif args.out:
        print(f"wrote audit signing public key {info['key_id']} ({info['fingerprint']}) to {args.out}")
    else:
        print(public_key_text(public_raw), end="")
    return 0


def _cmd_keyring_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from audit.rotation import retire_kek, rotate_kek
    from gateway.services import audit_settings

    async def rotate_and_retire() -> dict[str, Any]:
        config = audit_settings(settings)
        rotation = await rotate_kek(config)
        retired = []
        for version in rotation.retirable_versions if args.retire_old else ():
            await retire_kek(config, version)
            retired.append(version)
        return {**to_plain(rotation), "retired_versions": retired}

    summary = asyncio.run(rotate_and_retire())

    async def action(audit_log: AuditLog) -> None:
        await _record(audit_log, "admin.keyring.rotate", "allow", dict(summary))

    asyncio.run(_with_log(settings, action))
    print(json.dumps(summary) if args.json else f"key ring rotated: {summary}")
    return 0


def _snapshot_root(args: argparse.Namespace, settings: Settings) -> Path:
    chosen = getattr(args, "out", None) or getattr(args, "dir", None)
    return Path(chosen) if chosen else settings.data_path / "keyring-snapshots"


def _snapshot_key_file(args: argparse.Namespace, settings: Settings) -> Path:
    from audit.keyring_snapshots import SNAPSHOT_KEY_FILE

    return Path(args.key_file) if args.key_file else settings.key_dir / SNAPSHOT_KEY_FILE


def _max_age(settings: Settings) -> timedelta:
    return timedelta(days=settings.audit.keyring_snapshot_max_age_days)


def _snapshot_fields(info: SnapshotInfo, now: datetime, live_versions: tuple[int, ...]) -> dict[str, Any]:
    return {
        "snapshot_id": info.snapshot_id,
        "created_at": info.created_at.isoformat(),
        "expires_at": info.expires_at.isoformat(),
        "age_days": round(info.age(now).total_seconds() / 86400, 2),
        "expired": info.expired(now),
        "kek_versions": list(info.kek_versions),
        # Database backups wrapped under these can be read through this snapshot until it expires.
        "retired_versions_held": [v for v in info.kek_versions if v not in live_versions],
        "manifest_ok": info.manifest_ok,
    }


def _snapshot_failed(args: argparse.Namespace, exc: Exception) -> int:
    message = str(exc)
    print(json.dumps({"ok": False, "error": message}) if args.json else f"error: {message}", file=sys.stderr)
    return 1


async def _prune_and_record(
    audit_log: AuditLog, root: Path, now: datetime, max_age: timedelta
) -> dict[str, Any]:
    from audit.keyring_snapshots import prune_snapshots

    pruned = prune_snapshots(root, now=now, max_age=max_age)
    details = {
        "deleted": list(pruned.deleted),
        "kept": len(pruned.kept),
        "max_age_days": max_age.days,
    }
    await _record(audit_log, "admin.keyring.prune", "allow", details)
    return details


def _cmd_keyring_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from audit.keyring_snapshots import SnapshotError, delete_snapshot, load_snapshot_key, take_snapshot
    from gateway.services import audit_settings

    root, max_age, now = _snapshot_root(args, settings), _max_age(settings), datetime.now(UTC)
    key_dir = audit_settings(settings).key_dir

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        snapshot_key = load_snapshot_key(_snapshot_key_file(args, settings), create=True)
        info = take_snapshot(key_dir, root, snapshot_key, now=now, max_age=max_age)
        fields = _snapshot_fields(info, now, info.kek_versions)
        try:
            await _record(
                audit_log,
                "admin.keyring.snapshot",
                "allow",
                {k: fields[k] for k in ("snapshot_id", "created_at", "expires_at", "kek_versions")},
            )
        except BaseException:
            delete_snapshot(info)  # a copy of the keys that the audit log does not know of must not stay
            raise
        return {
            **fields,
            "path": str(info.path),
            "pruned": await _prune_and_record(audit_log, root, now, max_age),
        }

    try:
        result = asyncio.run(_with_log(settings, action))
    except SnapshotError as exc:
        return _snapshot_failed(args, exc)
    text = f"key ring snapshot {result['snapshot_id']} written to {result['path']}"
    print(json.dumps(result) if args.json else f"{text}, expires {result['expires_at']}")
    return 0


def _live_versions(settings: Settings) -> tuple[int, ...]:
    from audit.keyring import kek_version_of
    from gateway.services import audit_settings

    key_dir = audit_settings(settings).key_dir
    names = os.listdir(key_dir) if key_dir.is_dir() else []
    return tuple(sorted(v for v in map(kek_version_of, names) if v is not None))


def _cmd_keyring_snapshots(args: argparse.Namespace, settings: Settings) -> int:
    from audit.keyring_snapshots import list_snapshots

    now, live = datetime.now(UTC), _live_versions(settings)
    rows = [
        _snapshot_fields(i, now, live)
        for i in list_snapshots(_snapshot_root(args, settings), max_age=_max_age(settings))
    ]
    if args.json:
        print(json.dumps({"snapshots": rows, "max_age_days": settings.audit.keyring_snapshot_max_age_days}))
        return 0
    for row in rows:
        state = "EXPIRED (prune pending)" if row["expired"] else f"expires {row['expires_at']}"
        retired = (
            f", holds retired KEK versions {row['retired_versions_held']}"
            if row["retired_versions_held"]
            else ""
        )
        print(
            f"{row['snapshot_id']}  age {row['age_days']} days  {state}  "
            f"KEK versions {row['kek_versions']}{retired}"
        )
    if not rows:
        print("no key ring snapshots")
    return 0


def _cmd_keyring_prune(args: argparse.Namespace, settings: Settings) -> int:
    root, max_age, now = _snapshot_root(args, settings), _max_age(settings), datetime.now(UTC)

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        return await _prune_and_record(audit_log, root, now, max_age)

    result = asyncio.run(_with_log(settings, action))
    print(
        json.dumps(result)
        if args.json
        else f"deleted {len(result['deleted'])} snapshots, kept {result['kept']}"
    )
    return 0


def _cmd_keyring_restore(args: argparse.Namespace, settings: Settings) -> int:
    from audit.keyring_snapshots import SnapshotError, load_snapshot_key, restore_snapshot
    from gateway.services import audit_settings

    named = Path(args.snapshot)
    snapshot = named if named.is_dir() else _snapshot_root(args, settings) / args.snapshot
    try:
        snapshot_key = load_snapshot_key(_snapshot_key_file(args, settings), create=False)
        summary = restore_snapshot(
            snapshot,
            audit_settings(settings).key_dir,
            snapshot_key,
            now=datetime.now(UTC),
            max_age=_max_age(settings),
            force=args.force,
        )
    except SnapshotError as exc:
        return _snapshot_failed(args, exc)
    result = {**to_plain(summary), "force": args.force}

    async def action(audit_log: AuditLog) -> None:
        await _record(audit_log, "admin.keyring.restore", "allow", dict(result))

    try:
        asyncio.run(_with_log(settings, action))
    except Exception as exc:
        return _snapshot_failed(
            args,
            RuntimeError(
                f"the key ring was restored but the audit log could not record it ({type(exc).__name__})"
            ),
        )
    print(
        json.dumps(result)
        if args.json
        else f"key ring restored from snapshot {result['snapshot_id']}: {result}"
    )
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``gateway audit ...`` and ``gateway keyring ...`` to the CLI."""
    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="check the hash chain, signatures and checkpoints")
    common(verify)
    verify.set_defaults(handler=_cmd_verify)
    export = audit.add_parser("export", help="write a signed bundle of records")
    common(export)
    export.add_argument("--since")
    export.add_argument("--until")
    export.add_argument("--out", required=True)
    export.add_argument("--with-content", action="store_true", help="include decrypted payloads")
    export.add_argument(
        "--tenant", help="export for an auditor bound to this tenant: other records appear only as links"
    )
    export.set_defaults(handler=_cmd_export)
    bundle = audit.add_parser("verify-bundle", help="check an export bundle offline")
    common(bundle)
    bundle.add_argument("file")
    bundle.add_argument(
        "--public-key",
        metavar="FILE",
        help="the gateway's public key (from 'gateway audit public-key'); refuse bundles signed by another",
    )
    bundle.set_defaults(handler=_cmd_verify_bundle, no_settings=True)
    public_key = audit.add_parser(
        "public-key", help="print the log's Ed25519 signing public key (for verify-bundle --public-key)"
    )
    common(public_key)
    public_key.add_argument("--out", metavar="FILE", help="also write it to FILE")
    public_key.set_defaults(handler=_cmd_public_key)

    keyring = sub.add_parser("keyring", help="audit key ring").add_subparsers(
        dest="keyring_command", required=True
    )
    rotate = keyring.add_parser("rotate", help="new key-encryption key version; re-wrap data keys")
    common(rotate)
    rotate.add_argument(
        "--retire-old",
        action="store_true",
        help="after re-wrapping, delete KEK versions that no data key uses any more",
    )
    rotate.set_defaults(handler=_cmd_keyring_rotate)

    where = "snapshot directory (default <data_dir>/keyring-snapshots)"
    key_file = "snapshot key file (default <data_dir>/keys/keyring-snapshot.key); keep a copy apart"
    snapshot = keyring.add_parser(
        "snapshot", help="write an encrypted, expiring copy of the key ring; prune old ones"
    )
    common(snapshot)
    snapshot.add_argument("--out", metavar="DIR", help=where)
    snapshot.add_argument("--key-file", metavar="FILE", help=key_file)
    snapshot.set_defaults(handler=_cmd_keyring_snapshot)
    listing = keyring.add_parser("snapshots", help="list key ring snapshots with their age and expiry")
    common(listing)
    listing.add_argument("--dir", metavar="DIR", help=where)
    listing.set_defaults(handler=_cmd_keyring_snapshots)
    prune = keyring.add_parser(
        "prune", help="delete snapshots older than audit.keyring_snapshot_max_age_days"
    )
    common(prune)
    prune.add_argument("--dir", metavar="DIR", help=where)
    prune.set_defaults(handler=_cmd_keyring_prune)
    restore = keyring.add_parser("restore", help="write a snapshot's keys back into the key ring")
    common(restore)
    restore.add_argument("snapshot", metavar="SNAPSHOT", help="snapshot id (in --dir) or its directory")
    restore.add_argument("--dir", metavar="DIR", help=where)
    restore.add_argument("--key-file", metavar="FILE", help=key_file)
    restore.add_argument("--force", action="store_true", help="overwrite the key files of a live key ring")
    restore.set_defaults(handler=_cmd_keyring_restore)
