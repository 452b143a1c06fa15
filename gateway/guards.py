"""The permission guard (every route declares the permission it needs) and the request's
accessors: services, caller, policy snapshot, request id.

Deny by default: a route handler whose ``opt`` has no ``permission`` is refused for everyone
(a test walks the route table to prove no such route exists). ``PUBLIC`` marks the few routes
that need no credential (health probes). Identity comes from
:mod:`gateway.auth.middleware`, which runs before this guard.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from gateway.audit_events import decision_event, role_column
from gateway.auth.errors import AuthenticationError
from gateway.errors import Forbidden
from gateway.observability.request import current_observation
from gateway.services import Services
from policies.bundle import PolicyBundle
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
    """The process's services (handlers get them injected as ``services`` instead)."""
    services: Services = connection.app.state.services
    return services


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The gateway's id of this request (made by the request middleware; made here if it did not run)."""
    state = connection.scope.get("state", {})
    request_id = state.get("request_id")
    if request_id is None:
        from gateway.middleware import new_request_id

        request_id = state["request_id"] = new_request_id()
    return str(request_id)


def primary_role(principal: Principal) -> str:
    """The ``role`` column of a principal's audit records (its roles, comma-joined)."""
    return role_column(principal)


async def record_decision(
    services: Services,
    request_id: str,
    principal: Principal | None,
    decision: str,
    kind: str,
    details: dict[str, Any],
) -> None:
    """Append one decision record (allowed operation, refusal, failure) to the audit log."""
    await services.audit.append(
        decision_event(kind, request_id, principal, decision, details, model=details.get("model"))
    )


def declared_permission(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler | None
) -> str | None:
    """The permission the route declares; None (refused) for a route without one and for every
    OPTIONS request (Litestar adds those handlers, inheriting a router's options; no CORS here)."""
    if route_handler is None or connection.scope.get("method") == "OPTIONS":
        return None
    permission = route_handler.opt.get("permission")
    return str(permission) if permission is not None else None


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Check the route's declared permission for the authenticated caller (deny by default).

    Takes the policy bundle once for the request and keeps it, with the decision, on
    ``connection.state.policy`` / ``connection.state.authz``: every later check of the request
    uses that snapshot.
    """
    permission = declared_permission(connection, route_handler)
    if permission == PUBLIC:
        return
    if permission is None:
        log.warning(
            "authz.undeclared_route", request_id=request_id_of(connection), handler=route_handler.handler_name
        )
        raise Forbidden("This route is not available.", code="route_not_permitted")
    principal = principal_of(connection)
    services = services_of(connection)
    # The one read of the policy for this request: every later check uses this snapshot, so a
    # reload in the middle of a request never mixes two policies.
    policy = services.policy
    connection.state.policy = policy
    observation = current_observation()
    with observation.step("gateway.authorize") as step:
        decision = authorize(policy.rbac, principal, permission)
        # Metrics go by the first role the decision names (granting, or presented when denied).
        observation.role = decision.roles[0] if decision.roles else "none"
        step.set_all(
            {
                "gateway.permission": permission,
                "gateway.decision": "allow" if decision.allowed else "deny",
                "gateway.role": observation.role,
            }
        )
    connection.state.authz = decision
    if not decision.allowed:
        await deny(services, request_id_of(connection), principal, decision)


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
    decision = authorize(policy_of(connection).rbac, principal, permission, resource_tenant=object_tenant)
    if not decision.allowed:
        await deny(services, request_id_of(connection), principal, decision)


def policy_of(connection: ASGIConnection[Any, Any, Any, Any]) -> PolicyBundle:
    """The policy snapshot the permission guard took for this request."""
    policy: PolicyBundle = connection.state.policy
    return policy


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller (``request.user``, set by the authentication middleware).

    Raises AuthenticationError (401) where there is none: a route that reaches here without an
    authenticated caller is refused, never served anonymously.
    """
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise AuthenticationError("missing_credentials")
    return user
