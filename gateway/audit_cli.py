"""``gateway audit verify|export|verify-bundle`` and ``gateway keyring rotate``.

Exit codes of ``audit verify`` and ``verify-bundle``: 0 intact, 1 tampered (the first bad record is
named), 2 the check could not run (no database, missing keys, unreadable file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.auth.cli import operator
from gateway.plain import to_plain
from gateway.settings import Settings


async def _with_log(settings: Settings, action: Callable[[Any], Awaitable[Any]]) -> Any:
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


async def _record(audit_log: Any, kind: str, decision: str, details: dict[str, Any]) -> None:
    from audit.records import AuditEvent

    await audit_log.append(
        AuditEvent(kind=kind, principal=operator(), role="cli", decision=decision, payload=details)
    )


def _report_text(report: dict[str, Any]) -> str:
    if report.get("ok"):
        checked, checkpoints = report.get("checked"), report.get("checkpoints_checked")
        return f"audit log intact: {checked} records, {checkpoints} checkpoints"
    return f"audit log TAMPERED at seq {report.get('first_bad_seq')}: {report.get('reason')}"


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    async def action(audit_log: Any) -> dict[str, Any]:
        report = to_plain(await audit_log.verify())
        await _record(
            audit_log,
            "audit.verify",
            "allow",
            {"ok": report.get("ok"), "first_bad_seq": report.get("first_bad_seq")},
        )
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

    async def action(audit_log: Any) -> dict[str, Any]:
        summary = to_plain(
            await audit_log.export(_time(args.since), _time(args.until), out, with_content=args.with_content)
        )
        await _record(
            audit_log,
            "audit.export",
            "allow",
            {"since": args.since, "until": args.until, "with_content": args.with_content},
        )
        return dict(summary)

    summary = asyncio.run(_with_log(settings, action))
    print(json.dumps(summary) if args.json else f"exported to {out}: {summary}")
    return 0


def _cmd_verify_bundle(args: argparse.Namespace, _settings: Settings) -> int:
    from audit.export import verify_bundle

    try:
        report = to_plain(verify_bundle(Path(args.file)))
    except Exception as exc:
        print(
            json.dumps({"ok": None, "error": type(exc).__name__})
            if args.json
            else f"cannot verify bundle: {type(exc).__name__}: {exc}"
        )
        return 2
    print(json.dumps(report) if args.json else _report_text(report))
    return 0 if report.get("ok") else 1


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

    async def action(audit_log: Any) -> None:
        await _record(audit_log, "admin.keyring.rotate", "allow", dict(summary))

    asyncio.run(_with_log(settings, action))
    print(json.dumps(summary) if args.json else f"key ring rotated: {summary}")
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
    export.set_defaults(handler=_cmd_export)
    bundle = audit.add_parser("verify-bundle", help="check an export bundle offline")
    common(bundle)
    bundle.add_argument("file")
    bundle.set_defaults(handler=_cmd_verify_bundle, no_settings=True)

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
