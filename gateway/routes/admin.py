"""Admin routes: API keys and policy reload. Every operation is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, get, post

from gateway.auth.errors import KeyNotFoundError, KeyStateError
from gateway.auth.keys import ALL_TENANTS
from gateway.errors import Conflict, InvalidRequest, NotFound
from gateway.guards import (
    principal_of,
    record_decision,
    request_id_of,
    require_tenant_access,
    services_of,
)
from gateway.validation import convert_or_400, decode_json_object
from policies.errors import PolicyDocumentError
from policies.rbac import tenant_may_access, validate_role_assignment


class KeyCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    roles: list[str]
    tenant: str | None = None
    expires_in_days: int | None = None
    models: list[str] | None = None


async def _audit(request: Request[Any, Any, Any], kind: str, details: dict[str, Any]) -> None:
    await record_decision(
        services_of(request), request_id_of(request), principal_of(request), "allow", kind, details
    )


@get("/admin/keys", opt={"permission": "keys:manage"})
async def list_keys(
    request: Request[Any, Any, Any], cursor: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """Keys without secrets, oldest first: ``{"data": [...], "next_cursor": ...}``."""
    if not 1 <= limit <= 500:
        raise InvalidRequest("'limit' must be between 1 and 500.", param="limit")
    keys = services_of(request).keys
    caller = principal_of(request).tenant
    if cursor is not None:
        try:
            last_seen = await keys.get(cursor)  # a cursor is the id of the last key seen
        except KeyNotFoundError:
            last_seen = None
        if last_seen is None or not tenant_may_access(caller, last_seen.tenant):
            raise InvalidRequest("The cursor is not valid.", code="invalid_cursor", param="cursor")
    # The query narrows to the caller's tenant; the rule itself still decides every row.
    scope = ALL_TENANTS if caller is None else caller
    records = [
        r
        for r in await keys.list(limit=limit + 1, after=cursor, tenant=scope)
        if tenant_may_access(caller, r.tenant)
    ]
    page = records[:limit]
    return {"data": [r.to_dict() for r in page], "next_cursor": page[-1].id if len(records) > limit else None}


@post("/admin/keys", opt={"permission": "keys:manage"}, status_code=201)
async def create_key(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Create a key; the plaintext is in this answer only."""
    services = services_of(request)
    raw = decode_json_object(await request.body(), services.settings.server.max_json_depth)
    spec = convert_or_400(raw, KeyCreate, strict=False)
    if spec.expires_in_days is not None and not 0 < spec.expires_in_days <= 36500:
        raise InvalidRequest("'expires_in_days' must be between 1 and 36500.", param="expires_in_days")
    principal = principal_of(request)
    # A tenant-bound admin's keys belong to its tenant unless it names one (which must be its own).
    tenant = spec.tenant if spec.tenant is not None else principal.tenant
    await require_tenant_access(request, "keys:manage", tenant)
    roles = validate_role_assignment(services.policy.rbac, spec.roles, granted_by=principal)
    try:
        record, plaintext = await services.keys.create(
            spec.name,
            roles,
            tenant,
            timedelta(days=spec.expires_in_days) if spec.expires_in_days else None,
            spec.models,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    await _audit(
        request,
        "admin.keys.create",
        {"key_id": record.id, "roles": list(record.roles), "tenant": record.tenant},
    )
    return {**record.to_dict(), "key": plaintext}


async def _change(request: Request[Any, Any, Any], key_id: str, kind: str) -> dict[str, Any]:
    keys = services_of(request).keys
    try:
        await require_tenant_access(request, "keys:manage", (await keys.get(key_id)).tenant)
        if kind == "revoke":
            out = (await keys.revoke(key_id)).to_dict()
        else:
            record, plaintext = await keys.rotate(key_id)
            out = {**record.to_dict(), "key": plaintext}
    except KeyNotFoundError:
        raise NotFound("No API key with this id.") from None
    except KeyStateError as exc:
        raise Conflict(f"The key is {exc.state}.", code="invalid_key_state") from None
    await _audit(request, f"admin.keys.{kind}", {"key_id": key_id})
    return out


@post("/admin/keys/{key_id:str}/revoke", opt={"permission": "keys:manage"}, status_code=200)
async def revoke_key(request: Request[Any, Any, Any], key_id: str) -> dict[str, Any]:
    """Revoke a key at once."""
    return await _change(request, key_id, "revoke")


@post("/admin/keys/{key_id:str}/rotate", opt={"permission": "keys:manage"}, status_code=200)
async def rotate_key(request: Request[Any, Any, Any], key_id: str) -> dict[str, Any]:
    """New secret for a key; the previous one works until the grace period ends."""
    return await _change(request, key_id, "rotate")


@post("/admin/policies/reload", opt={"permission": "policy:reload"}, status_code=200)
async def reload_policies(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Reload the policy documents atomically; a bad document leaves the old policy in force."""
    services = services_of(request)
    await require_tenant_access(request, "policy:reload", None)  # the policy is the whole site's
    old = services.policy.digest
    try:
        bundle = await services.reload_policies()
    except PolicyDocumentError as exc:
        await record_decision(
            services,
            request_id_of(request),
            principal_of(request),
            "error",
            "policy.reload",
            {"error": str(exc), "digest": old},
        )
        raise
    await _audit(request, "policy.reload", {"previous_digest": old, "digest": bundle.digest})
    return {"status": "reloaded", "digest": bundle.digest, "previous_digest": old}


admin_routes = [list_keys, create_key, revoke_key, rotate_key, reload_policies]
