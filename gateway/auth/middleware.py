"""Identity: Litestar authentication middleware that puts the caller's Principal on ``request.user``.

It runs after routing, so it knows the route's declared permission: public routes (health
probes) and routes that declare none (refused with 403 by the permission guard) need no
credential. Every other route needs ``Authorization: Bearer <API key | JWT>``; a failure is
written to the audit log (``auth.failure``, with the reason) and answered with the one 401 body
whatever the reason was. Authorization itself is the guard's job (:mod:`gateway.guards`).
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from gateway.auth.errors import AuthenticationError
from gateway.guards import PUBLIC, declared_permission, record_decision, request_id_of, services_of
from gateway.observability.request import current_observation
from gateway.services import Services
from policies.rbac import Principal

log = structlog.get_logger("gateway.auth")

# Where the access log finds the caller's id (scope["state"] survives past the route's own scope).
PRINCIPAL_ID_STATE_KEY = "principal_id"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None when there is no such header."""
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


def needs_credential(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The permission the matched route declares when it needs an authenticated caller, else None."""
    permission = declared_permission(connection, connection.scope.get("route_handler"))
    return None if permission is None or permission == PUBLIC else permission


class GatewayAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Authenticate every request to a route that declares a permission (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        # No excluded methods or paths: the route's declared permission alone decides.
        super().__init__(app, exclude_http_methods=(), exclude_from_auth_key="")

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The caller's Principal, or no user for routes that need no credential."""
        permission = needs_credential(connection)
        if permission is None:
            return AuthenticationResult(user=None, auth=None)
        services = services_of(connection)
        step = current_observation().step("gateway.authenticate")
        try:
            principal = await authenticate(connection, services)
        except AuthenticationError as exc:
            step.set("gateway.auth.reason", exc.code)
            step.end(exc)
            request_id = request_id_of(connection)
            log.info("auth.failure", request_id=request_id, reason=exc.code)
            await record_decision(
                services,
                request_id,
                None,
                "deny",
                "auth.failure",
                {"reason": exc.code, "permission": permission},
            )
            raise
        except BaseException as exc:
            step.end(exc)
            raise
        step.set("gateway.auth.method", principal.auth_method)
        step.end()
        connection.scope.setdefault("state", {})[PRINCIPAL_ID_STATE_KEY] = principal.id
        return AuthenticationResult(user=principal, auth=principal.auth_method)
