"""``gateway keys create|list|revoke|rotate``: API key management from the command line.

Each operation is written to the audit log with the operator's OS user as principal (the CLI runs
with filesystem access to the key ring, so it is an administrator by construction).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.auth.errors import KeyStoreError
from gateway.settings import Settings

if TYPE_CHECKING:  # the store and the audit log (SQLAlchemy, Alembic) load when a command runs
    from audit.store import AuditLog
    from gateway.auth.keys import KeyStore

_DURATION = re.compile(r"^(\d+)([dhm])$")

T = TypeVar("T")


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h`` or ``30m`` -> timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"invalid duration {text!r}; use e.g. 90d, 12h or 30m")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError("duration must be positive")
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


def operator() -> str:
    """The audit principal of a CLI operation: ``cli:<OS user>``."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


async def _with_store(settings: Settings, action: Callable[[KeyStore, AuditLog], Awaitable[T]]) -> T:
    from audit.store import AuditLog
    from gateway.services import audit_settings, create_db_engine, open_key_store

    db = create_db_engine(settings)
    try:
        store = await open_key_store(settings, db)
        audit = await AuditLog.open(audit_settings(settings), engine=db)
        try:
            return await action(store, audit)
        finally:
            await audit.close()
    finally:
        await db.dispose()


async def _record(audit: AuditLog, kind: str, details: dict[str, Any]) -> None:
    from gateway.audit_events import operator_event

    await audit.append(operator_event(kind, operator(), "admin", details))


def create_key_sync(
    settings: Settings,
    *,
    name: str,
    roles: Sequence[str],
    tenant: str | None,
    expires: str | None,
    models: Sequence[str] | None,
) -> dict[str, Any]:
    """Create a key and return ``{"id", "key", ...}`` (used by ``keys create`` and ``demo``)."""
    from gateway.services import DEFAULT_POLICY_DIR, policy_site_dir
    from policies.bundle import PolicyHolder
    from policies.errors import PolicyViolation
    from policies.rbac import validate_role_assignment

    rbac = PolicyHolder(DEFAULT_POLICY_DIR, policy_site_dir(settings)).current.rbac
    try:
        roles = validate_role_assignment(rbac, list(roles))
    except PolicyViolation as exc:
        raise ValueError(f"{exc} {exc.details or ''}".strip()) from None
    expires_in = parse_duration(expires) if expires else None

    async def action(store: KeyStore, audit: AuditLog) -> dict[str, Any]:
        record, plaintext = await store.create(
            name, list(roles), tenant, expires_in, list(models) if models else None
        )
        await _record(audit, "admin.keys.create", {"key_id": record.id, "roles": list(record.roles)})
        return {**record.to_dict(), "key": plaintext}

    return asyncio.run(_with_store(settings, action))


def _cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    models = [m.strip() for m in args.models.split(",")] if args.models else None
    try:
        result = create_key_sync(
            settings, name=args.name, roles=args.role, tenant=args.tenant, expires=args.expires, models=models
        )
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(f"id:   {result['id']}\nkey:  {result['key']}\nThe key is shown once; store it now.")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: KeyStore, _audit: AuditLog) -> list[dict[str, Any]]:
        return [r.to_dict() for r in await store.list()]

    rows = asyncio.run(_with_store(settings, action))
    if args.json:
        print(json.dumps({"data": rows, "next_cursor": None}))
    else:
        for row in rows:
            print(
                f"{row['id']}  gw_{row['prefix']}_…  {row['status']:8}  "
                f"{','.join(row['roles']):20}  {row['name']}"
            )
    return 0


def _cmd_change(kind: str) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        async def action(store: KeyStore, audit: AuditLog) -> dict[str, Any]:
            if kind == "revoke":
                record = await store.revoke(args.id)
                out = record.to_dict()
            else:
                record, plaintext = await store.rotate(args.id)
                out = {**record.to_dict(), "key": plaintext}
            await _record(audit, f"admin.keys.{kind}", {"key_id": record.id})
            return out

        try:
            result = asyncio.run(_with_store(settings, action))
        except KeyStoreError as exc:
            print(f"error: {exc}")
            return 1
        if args.json:
            print(json.dumps(result))
        elif kind == "rotate":
            print(
                f"id:   {result['id']}\nkey:  {result['key']}\nThe old key works until "
                f"{result['previous_valid_until']}."
            )
        else:
            print(f"{result['id']} revoked")
        return 0

    return command


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``gateway keys ...`` to the CLI."""
    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key (printed once)")
    common(create)
    create.add_argument("--name", required=True)
    create.add_argument("--role", action="append", required=True)
    create.add_argument("--tenant")
    create.add_argument("--expires", help="lifetime such as 90d, 12h, 30m (default: no expiry)")
    create.add_argument("--models", help="comma-separated model allow-list for this key")
    create.set_defaults(handler=_cmd_create)
    listing = keys.add_parser("list", help="list keys (no secrets)")
    common(listing)
    listing.set_defaults(handler=_cmd_list)
    for kind in ("revoke", "rotate"):
        parser = keys.add_parser(kind, help=f"{kind} a key")
        common(parser)
        parser.add_argument("id")
        parser.set_defaults(handler=_cmd_change(kind))
