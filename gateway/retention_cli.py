"""``gateway retention run [--dry-run] [--batch-size N]``: remove content past its retention period.

The policy is the retention.yaml of the bundle the gateway loads (shipped default, overlaid by
the site's ``policy.dir``). Progress goes to stderr, the report (JSON) to stdout. Exit 0 done,
2 could not run (policy invalid, log unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.audit_cli import _with_log
from gateway.auth.cli import operator
from gateway.settings import Settings

if TYPE_CHECKING:
    from audit.store import AuditLog


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from audit.dsr_common import Actor
    from audit.errors import AuditError
    from audit.retention import run_retention
    from gateway.services import policy_site_dir
    from policies.bundle import DEFAULT_POLICY_DIR, load_policy_bundle
    from policies.errors import PolicyDocumentError

    try:
        policy = load_policy_bundle(DEFAULT_POLICY_DIR, policy_site_dir(settings)).retention
    except PolicyDocumentError as exc:
        print(f"error: the policy does not load: {exc}", file=sys.stderr)
        return 2

    def progress(phase: str, done: int, total: int) -> None:
        print(f"\r{phase}: {done}/{total}", end="", file=sys.stderr, flush=True)

    async def action(audit_log: AuditLog) -> dict[str, Any]:
        report = await run_retention(
            audit_log,
            policy,
            datetime.now(UTC),
            dry_run=args.dry_run,
            batch_size=args.batch_size,
            progress=progress,
            actor=Actor(principal=operator(), role="cli"),
        )
        print(file=sys.stderr)
        return report.to_dict()

    try:
        result = asyncio.run(_with_log(settings, action))
    except AuditError as exc:
        print(f"error: the retention run could not complete ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``gateway retention ...`` to the CLI."""
    retention = sub.add_parser("retention", help="retention runs").add_subparsers(
        dest="retention_command", required=True
    )
    run = retention.add_parser("run", help="remove content past its retention period")
    common(run)
    run.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
    run.add_argument("--batch-size", type=int, default=1000, help="records per erasure transaction")
    run.set_defaults(handler=_cmd_run)
