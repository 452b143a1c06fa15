"""One exception hierarchy, mapped once to HTTP statuses and the OpenAI error shape.

Every error the client sees is ``{"error": {"message", "type", "param", "code"}}``. Messages
are written here or by the raising code from types, ids and keys only; the text of a request
or an answer never reaches an error message. Unknown exceptions become a generic 500 whose
message says nothing about their cause (the cause is logged by type name only).
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from audit.errors import AuditError, AuditUnavailable
from audit.store import InvalidCursor
from engine.errors import EngineBadResponse, EngineRejected, EngineUnavailable
from gateway.auth.errors import AuthenticationError
from gateway.auth.ratelimit import RateLimiterUnavailable
from policies.errors import DetectionUnavailable, PolicyDocumentError, PolicyViolation

log = structlog.get_logger("gateway.errors")


class GatewayError(Exception):
    """Base of errors raised by the gateway layer itself."""

    status_code = 500
    error_type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.param = param


class InvalidRequest(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class SubjectRequired(InvalidRequest):
    code = "data_subject_required"


class Forbidden(GatewayError):
    status_code = 403
    error_type = "permission_error"
    code = "forbidden"


class NotFound(GatewayError):
    status_code = 404
    error_type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    """The requested model is neither served by the engine nor a site alias."""

    code = "model_not_found"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    error_type = "invalid_request_error"
    code = "unsupported_media_type"


class Conflict(GatewayError):
    status_code = 409
    error_type = "invalid_request_error"
    code = "conflict"


class RateLimited(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after_s: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, int(retry_after_s))


class ServiceUnavailable(GatewayError):
    status_code = 503
    error_type = "service_unavailable"
    code = "service_unavailable"


def error_body(
    message: str, error_type: str, code: str | int | None, param: str | None = None
) -> dict[str, Any]:
    """The OpenAI error shape."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _response(
    status: int,
    message: str,
    error_type: str,
    code: str | int | None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        content=error_body(message, error_type, code, param),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


_HTTP_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


# Policy refusals that are about who is asking rather than what was sent.
_FORBIDDING = frozenset({"role_not_grantable"})


def to_response(exc: Exception) -> Response[Any]:
    """Map any exception to the OpenAI error shape. The single place statuses are decided."""
    if isinstance(exc, GatewayError):
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
        return _response(exc.status_code, str(exc), exc.error_type, exc.code, exc.param, headers)
    if isinstance(exc, AuthenticationError):
        # One answer for every reason (unknown, revoked, expired, bad signature...): the reason
        # itself is in the auth.failure audit record, not in what the caller learns.
        return _response(
            401,
            "Invalid or missing credentials.",
            "authentication_error",
            "invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, PolicyViolation):
        status, error_type = (
            (403, "permission_error") if exc.code in _FORBIDDING else (400, "invalid_request_error")
        )
        return _response(status, _with_details(str(exc), exc.details), error_type, exc.code)
    if isinstance(exc, DetectionUnavailable):
        return _response(
            503,
            "Personal-data detection is unavailable; the request was not forwarded.",
            "service_unavailable",
            "pii_detection_unavailable",
        )
    if isinstance(exc, InvalidCursor):
        return _response(400, "The cursor is not valid.", "invalid_request_error", "invalid_cursor", "cursor")
    if isinstance(exc, AuditUnavailable | AuditError):
        return _response(
            503,
            "The audit log cannot record this request; it was not forwarded.",
            "service_unavailable",
            "audit_unavailable",
        )
    if isinstance(exc, RateLimiterUnavailable):
        return _response(
            503,
            "Rate limiting is unavailable; the request was not forwarded.",
            "service_unavailable",
            "rate_limiter_unavailable",
        )
    if isinstance(exc, PolicyDocumentError):
        return _response(400, str(exc), "invalid_request_error", "invalid_policy")
    if isinstance(exc, EngineUnavailable):
        return _response(503, "No model worker is available.", "service_unavailable", "engine_unavailable")
    if isinstance(exc, EngineRejected):
        # The engine's own wording is not passed on: it is text the output filter never saw.
        return _response(
            exc.status,
            f"The model worker refused the request (status {exc.status}).",
            "invalid_request_error",
            "engine_rejected",
        )
    if isinstance(exc, EngineBadResponse):
        return _response(
            502, "The model worker sent an invalid response.", "server_error", "engine_bad_response"
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        error_type, code = _HTTP_TYPES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        message = exc.detail if status < 500 else "Internal server error."
        if message.startswith("Validation failed for"):
            # Litestar quotes the whole URL, query string included; name the problem only.
            message = "Invalid query or path parameter."
        headers = dict(exc.headers or {})
        return _response(status, message, error_type, code, headers=headers or None)
    log.error("request.unhandled_error", error_type=type(exc).__name__)
    return _response(500, "Internal server error.", "server_error", "internal_error")


def _with_details(message: str, details: dict[str, object]) -> str:
    """Name the entity types / indicators / rules a policy refusal is about (never values)."""
    names: list[str] = []
    for key in ("entity_types", "indicators", "rules", "roles", "permissions"):
        value = details.get(key)
        if isinstance(value, list | tuple):
            names.extend(str(v) for v in value)
    return f"{message} ({', '.join(names)})" if names else message


def exception_handler(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for every exception type."""
    return to_response(exc)
