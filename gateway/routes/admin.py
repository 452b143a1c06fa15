"""Admin routes: API keys and policy reload. Every operation is audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.auth.errors import KeyNotFoundError, KeyStateError
from gateway.auth.keys import ALL_TENANTS, KeyStore
from gateway.dependencies import PolicyDep, PrincipalDep, ServicesDep
from gateway.errors import Conflict, InvalidRequest, NotFound
from gateway.guards import record_decision, request_id_of, require_tenant_access
from gateway.schemas import (
    KEY_PAGE_MAX,
    KeyCreate,
    KeyOut,
    KeyPage,
    KeyWithSecret,
    PolicyReloaded,
    key_out,
    key_with_secret,
)
from gateway.services import Services
from policies.errors import PolicyDocumentError
from policies.rbac import Principal, tenant_may_access, validate_role_assignment

KEYS = {"permission": "keys:manage"}

_Out = TypeVar("_Out", bound=KeyOut)


async def _audit(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    kind: str,
    details: dict[str, Any],
) -> None:
    await record_decision(services, request_id_of(request), principal, "allow", kind, details)


@get("/admin/keys", opt=KEYS, summary="List API keys")
async def list_keys(
    services: ServicesDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=KEY_PAGE_MAX)] = 100,
) -> KeyPage:
    """Keys without secrets, oldest first, narrowed to the caller's tenant."""
    keys = services.keys
    caller = principal.tenant
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
    return KeyPage(data=[key_out(r) for r in page], next_cursor=page[-1].id if len(records) > limit else None)


@post("/admin/keys", opt=KEYS, status_code=201, summary="Create an API key")
async def create_key(
    request: Request[Any, Any, Any],
    data: JSONBody[KeyCreate],
    services: ServicesDep,
    principal: PrincipalDep,
    policy: PolicyDep,
) -> KeyWithSecret:
    """Create a key; the plaintext is in this answer only. A tenant-bound admin's keys belong to
    its tenant (naming another one is refused)."""
    tenant = data.tenant if data.tenant is not None else principal.tenant
    await require_tenant_access(request, "keys:manage", tenant)
    roles = validate_role_assignment(policy.rbac, data.roles, granted_by=principal)
    try:
        record, plaintext = await services.keys.create(
            data.name,
            roles,
            tenant,
            timedelta(days=data.expires_in_days) if data.expires_in_days else None,
            data.models,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    await _audit(
        request,
        services,
        principal,
        "admin.keys.create",
        {"key_id": record.id, "roles": list(record.roles), "tenant": record.tenant},
    )
    return key_with_secret(record, plaintext)


async def _revoke(keys: KeyStore, key_id: str) -> KeyOut:
    return key_out(await keys.revoke(key_id))


async def _rotate(keys: KeyStore, key_id: str) -> KeyWithSecret:
    return key_with_secret(*await keys.rotate(key_id))


async def _change(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    key_id: str,
    kind: str,
    action: Callable[[KeyStore, str], Awaitable[_Out]],
) -> _Out:
    keys = services.keys
    try:
        await require_tenant_access(request, "keys:manage", (await keys.get(key_id)).tenant)
        out = await action(keys, key_id)
    except KeyNotFoundError:
        raise NotFound("No API key with this id.") from None
    except KeyStateError as exc:
        raise Conflict(f"The key is {exc.state}.", code="invalid_key_state") from None
    await _audit(request, services, principal, f"admin.keys.{kind}", {"key_id": key_id})
    return out


@post("/admin/keys/{key_id:str}/revoke", opt=KEYS, status_code=200, summary="Revoke an API key")
async def revoke_key(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep, key_id: FromPath[str]
) -> KeyOut:
    """Revoke a key at once."""
    return await _change(request, services, principal, key_id, "revoke", _revoke)


@post("/admin/keys/{key_id:str}/rotate", opt=KEYS, status_code=200, summary="Rotate an API key")
async def rotate_key(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep, key_id: FromPath[str]
) -> KeyWithSecret:
    """New secret for a key; the previous one works until the grace period ends."""
    return await _change(request, services, principal, key_id, "rotate", _rotate)


@post(
    "/admin/policies/reload",
    opt={"permission": "policy:reload"},
    status_code=200,
    summary="Reload the policy documents",
)
async def reload_policies(
    request: Request[Any, Any, Any], services: ServicesDep, principal: PrincipalDep
) -> PolicyReloaded:
    """Reload the policy documents atomically; a bad document leaves the old policy in force."""
    await require_tenant_access(request, "policy:reload", None)  # the policy is the whole site's
    old = services.policy.digest
    try:
        bundle = await services.reload_policies()
    except PolicyDocumentError as exc:
        await record_decision(
            services,
            request_id_of(request),
            principal,
            "error",
            "policy.reload",
            {"error": str(exc), "digest": old},
        )
        raise
    await _audit(
        request, services, principal, "policy.reload", {"previous_digest": old, "digest": bundle.digest}
    )
    return PolicyReloaded(status="reloaded", digest=bundle.digest, previous_digest=old)


admin_routes = [list_keys, create_key, revoke_key, rotate_key, reload_policies]
