"""Authentication and the permission guard: every route declares the permission it needs.

Deny by default: a route handler whose ``opt`` has no ``permission`` is refused for everyone
(a test walks the route table to prove no such route exists). ``PUBLIC`` marks the few routes
that need no credential (health probes).
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from audit.records import AuditEvent
from gateway.auth.errors import AuthenticationError
from gateway.errors import Forbidden
from gateway.services import Services
from policies.rbac import (
    REASON_MODEL_NOT_ALLOWED_FOR_KEY,
    REASON_MODEL_NOT_ALLOWED_FOR_ROLE,
    REASON_TENANT_MISMATCH,
    AuthzDecision,
    Principal,
    authorize,
)

log = structlog.get_logger("gateway.auth")

PUBLIC = "public"


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    state = connection.scope.get("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        from gateway.middleware import new_request_id

        request_id = state["request_id"] = new_request_id()
    return str(request_id)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], services: Services) -> Principal:
    """Resolve the caller from ``Authorization: Bearer <api key | JWT>``; raise AuthenticationError."""
    token = bearer_token(connection)
    if token is None:
        raise AuthenticationError("missing_credentials")
    if token.startswith("gw_"):
        return await services.keys.authenticate(token)
    if token.count(".") == 2 and services.jwt is not None:
        return services.jwt.verify(token)
    raise AuthenticationError("invalid_credentials")


def primary_role(principal: Principal) -> str:
    return ",".join(principal.roles)


async def record_decision(
    services: Services,
    request_id: str,
    principal: Principal | None,
    decision: str,
    kind: str,
    details: dict[str, Any],
) -> None:
    await services.audit.append(
        AuditEvent(
            kind=kind,
            principal=principal.id if principal else None,
            role=primary_role(principal) if principal else None,
            model=details.get("model"),
            request_id=request_id,
            subject_id=None,
            decision=decision,
            tenant=principal.tenant if principal else None,
            payload=details,
        )
    )


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Authenticate the caller and check the route's declared permission (deny by default)."""
    permission = route_handler.opt.get("permission")
    if permission == PUBLIC:
        return
    services = services_of(connection)
    request_id = request_id_of(connection)
    if permission is None:
        log.warning("authz.undeclared_route", request_id=request_id, handler=route_handler.handler_name)
        raise Forbidden("This route is not available.", code="route_not_permitted")
    try:
        principal = await authenticate(connection, services)
    except AuthenticationError as exc:
        log.info("auth.failure", request_id=request_id, reason=exc.code)
        await record_decision(
            services, request_id, None, "deny", "auth.failure", {"reason": exc.code, "permission": permission}
        )
        raise
    connection.state.principal = principal
    connection.scope.setdefault("state", {})["principal_id"] = principal.id
    decision = authorize(services.policy.rbac, principal, permission)
    connection.state.authz = decision
    if not decision.allowed:
        await deny(services, request_id, principal, decision)


async def deny(services: Services, request_id: str, principal: Principal, decision: AuthzDecision) -> None:
    """Record an authorization denial and refuse with 403 (the reason names the permission only)."""
    log.info("authz.denied", request_id=request_id, permission=decision.permission, reason=decision.reason)
    await record_decision(
        services,
        request_id,
        principal,
        "deny",
        "authz.denied",
        {"permission": decision.permission, "reason": decision.reason, "model": decision.model},
    )
    if decision.reason == REASON_TENANT_MISMATCH:
        raise Forbidden("This object belongs to another tenant.", code="tenant_mismatch")
    if decision.reason in (REASON_MODEL_NOT_ALLOWED_FOR_KEY, REASON_MODEL_NOT_ALLOWED_FOR_ROLE):
        whose = "API key" if decision.reason == REASON_MODEL_NOT_ALLOWED_FOR_KEY else "role"
        raise Forbidden(f"Your {whose} is not allowed to use this model.", code="model_not_allowed")
    raise Forbidden(f"Your role may not use '{decision.permission}' here.", code="permission_denied")


async def require_tenant_access(
    connection: ASGIConnection[Any, Any, Any, Any], permission: str, object_tenant: str | None
) -> None:
    """Refuse (403, audited) unless the caller may use ``permission`` on an object of ``object_tenant``.

    Every route that reads or changes a stored object (audit records, API keys, the policy,
    data-subject jobs) asks here; the rule itself is :func:`policies.rbac.tenant_may_access`.
    """
    services = services_of(connection)
    principal = principal_of(connection)
    decision = authorize(services.policy.rbac, principal, permission, resource_tenant=object_tenant)
    if not decision.allowed:
        await deny(services, request_id_of(connection), principal, decision)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.state.principal
    return principal
