"""``gateway dsr export|erase|find|hold|verify-export``: data-subject requests from the command line.

Each command opens the audit log like ``gateway audit ...`` does and records what it did
(``dsr.export``, ``dsr.erase``, ``dsr.hold``, ``dsr.find``) as the operator ``cli:<OS user>``.
Exit codes: 0 done, 1 refused (a legal hold, a bad or unverifiable export), 2 could not run or bad
input. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.audit_cli import _with_log
from gateway.auth.cli import operator
from gateway.settings import Settings

if TYPE_CHECKING:
    from audit.dsr_common import Actor
    from audit.store import AuditLog


def _actor() -> Actor:
    from audit.dsr_common import Actor

    return Actor(principal=operator(), role="cli")


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit("error: times are ISO 8601, e.g. 2025-01-31T00:00:00Z") from None


def _write_private(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` 0600 through a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run(args: argparse.Namespace, settings: Settings, action: Callable[[AuditLog], Any]) -> int:
    """Run ``action`` on the log; map the DSR errors to exit codes and one line on stderr."""
    from audit.dsr_errors import HoldNotFound, InvalidDsrRequest, UnderLegalHold
    from audit.errors import AuditError

    try:
        result = asyncio.run(_with_log(settings, action))
    except UnderLegalHold as exc:
        print(
            json.dumps({"error": "under_legal_hold", "hold_id": exc.hold_id})
            if args.json
            else f"refused: {exc}"
        )
        return 1
    except (InvalidDsrRequest, HoldNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AuditError as exc:
        print(f"error: the audit log cannot do this now ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2, default=str))
    return 0


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from audit.subject_export import export_subject
    from policies.pii.pseudonymize import restore_tokens

    out = Path(args.out)

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        export = await export_subject(audit_log, args.subject_id, _now(), _actor(), restore=restore_tokens)
        _write_private(out, export.to_zip())
        return {
            "out": str(out),
            "records": export.record_count,
            "subject_ref": export.manifest["subject_ref"],
        }

    return _run(args, settings, action)


def _seqs(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit("error: --records takes seqs separated by commas, e.g. 12,40,41") from None


def _cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    from audit.subject_erase import erase_records, erase_subject

    if (args.subject_id is None) == (args.records is None):
        print("error: name a subject id or --records SEQ,..., not both", file=sys.stderr)
        return 2

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        if args.records is not None:
            receipt = await erase_records(audit_log, _seqs(args.records), _now(), _actor())
        else:
            receipt = await erase_subject(audit_log, args.subject_id, _now(), _actor())
        return receipt.document

    return _run(args, settings, action)


def _cmd_find(args: argparse.Namespace, settings: Settings) -> int:
    from audit.dsr_common import record_operation
    from audit.subject_find import find_value
    from policies.pii.normalize import canonical_value

    value = sys.stdin.readline().rstrip("\n") if args.value == "-" else args.value
    since = _time(args.since)

    def progress(done: int, total: int) -> None:
        print(f"\rscanned {done} records (log head {total})", end="", file=sys.stderr, flush=True)

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        result = await find_value(audit_log, value, since, progress, canonical=canonical_value)
        print(file=sys.stderr)
        counts = {"found": len(result.seqs), "scanned": result.scanned, "since": args.since}
        await record_operation(audit_log, "dsr.find", _actor(), counts)
        return {**counts, "seqs": list(result.seqs), "unreadable": result.unreadable}

    return _run(args, settings, action)


def _cmd_hold_create(args: argparse.Namespace, settings: Settings) -> int:
    from audit.holds import create_hold

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        hold = await create_hold(
            audit_log,
            _now(),
            _actor(),
            subject_id=args.subject,
            since=_time(args.since),
            until=_time(args.until),
            tenant=args.tenant,
        )
        return hold.to_dict()

    return _run(args, settings, action)


def _cmd_hold_list(args: argparse.Namespace, settings: Settings) -> int:
    from audit.holds import list_holds

    async def action(audit_log: AuditLog) -> list[dict[str, Any]]:
        return [
            h.to_dict() for h in await list_holds(audit_log, include_released=args.all, tenant=args.tenant)
        ]

    return _run(args, settings, action)


def _cmd_hold_release(args: argparse.Namespace, settings: Settings) -> int:
    from audit.holds import release_hold

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        return (await release_hold(audit_log, args.hold_id, _now(), _actor())).to_dict()

    return _run(args, settings, action)


def _cmd_verify_export(args: argparse.Namespace, _settings: Settings) -> int:
    from audit.signing import parse_public_key
    from audit.subject_export import read_export_zip, verify_export

    try:
        public_key = parse_public_key(Path(args.public_key).read_text()) if args.public_key else None
        files = read_export_zip(Path(args.file).read_bytes())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"cannot verify: a file cannot be read ({type(exc).__name__})", file=sys.stderr)
        return 2
    check = verify_export(files, public_key)
    if args.json:
        print(json.dumps(check.__dict__))
    elif not check.ok:
        print(f"export REJECTED: {check.reason}")
    elif check.origin_checked:
        print(f"export intact and signed by the given key {check.signer_key_id}")
    else:
        print(f"export intact; origin not checked: pass --public-key (signed by key {check.signer_key_id})")
    return 0 if check.ok else 1


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``gateway dsr ...`` to the CLI."""
    dsr = sub.add_parser("dsr", help="data-subject requests: export, erase, find, legal holds")
    commands = dsr.add_subparsers(dest="dsr_command", required=True)
    export = commands.add_parser("export", help="every record of a subject, decrypted, as a signed zip")
    common(export)
    export.add_argument("subject_id")
    export.add_argument("--out", required=True, metavar="FILE", help="the zip to write (0600)")
    export.set_defaults(handler=_cmd_export)
    erase = commands.add_parser("erase", help="erase a subject (crypto-shredding) or records by seq")
    common(erase)
    erase.add_argument("subject_id", nargs="?")
    erase.add_argument("--records", metavar="SEQ,...", help="clear these records (from 'dsr find')")
    erase.set_defaults(handler=_cmd_erase)
    find = commands.add_parser(
        "find", help="records whose decrypted content holds a value (reads everything)"
    )
    common(find)
    find.add_argument(
        "--value", required=True, help="the value; '-' reads it from stdin (keeps it out of ps)"
    )
    find.add_argument("--since", help="only records at or after this time (ISO 8601)")
    find.set_defaults(handler=_cmd_find)
    verify = commands.add_parser("verify-export", help="check an export zip offline")
    common(verify)
    verify.add_argument("file")
    verify.add_argument(
        "--public-key", metavar="FILE", help="the gateway's key from 'gateway audit public-key'"
    )
    verify.set_defaults(handler=_cmd_verify_export, no_settings=True)
    hold = commands.add_parser("hold", help="legal holds").add_subparsers(dest="hold_command", required=True)
    create = hold.add_parser("create", help="hold a subject's records and/or a time range")
    common(create)
    create.add_argument("--subject", help="the data subject's id")
    create.add_argument("--since", help="start of the held range (ISO 8601, inclusive)")
    create.add_argument("--until", help="end of the held range (ISO 8601, exclusive)")
    create.add_argument("--tenant", help="hold only this tenant's records")
    create.set_defaults(handler=_cmd_hold_create)
    listing = hold.add_parser("list", help="active holds (--all: released ones too)")
    common(listing)
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--tenant")
    listing.set_defaults(handler=_cmd_hold_list)
    release = hold.add_parser("release", help="release a hold")
    common(release)
    release.add_argument("hold_id")
    release.set_defaults(handler=_cmd_hold_release)
