"""One exception hierarchy, mapped once to HTTP statuses and the OpenAI error shape.

Every error the client sees is ``{"error": {"message", "type", "param", "code"}}``, built by
one handler per error type (``EXCEPTION_HANDLERS``, Litestar's ``exception_handlers``). Messages
are written here or by the raising code from types, ids and keys only; the text of a request
or an answer never reaches an error message. Unknown exceptions become a generic 500 whose
message says nothing about their cause (the cause is logged by type name only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from audit.dsr_errors import HoldNotFound, InvalidDsrRequest, UnderLegalHold
from audit.errors import AuditError, AuditUnavailable
from audit.store import InvalidCursor
from audit.subject_erase import RecordsOfAnotherTenant
from engine.errors import EngineBadResponse, EngineRejected, EngineUnavailable
from engine.pool.errors import EngineSaturated
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


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MISSING_FIELD = re.compile(r"missing required field `([A-Za-z_][A-Za-z0-9_]{0,63})`")

# Policy refusals that are about who is asking rather than what was sent.
_FORBIDDING = frozenset({"role_not_grantable"})


# One handler per error type, registered with Litestar as ``exception_handlers``. Litestar picks
# the handler of the nearest class in the exception's MRO; ``to_response`` does the same lookup.


def _gateway_error(exc: GatewayError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    return _response(exc.status_code, str(exc), exc.error_type, exc.code, exc.param, headers)


def _authentication_error(_exc: AuthenticationError) -> Response[Any]:
    # One answer for every reason (unknown, revoked, expired, bad signature...): the reason
    # itself is in the auth.failure audit record, not in what the caller learns.
    return _response(
        401,
        "Invalid or missing credentials.",
        "authentication_error",
        "invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _policy_violation(exc: PolicyViolation) -> Response[Any]:
    status, error_type = (
        (403, "permission_error") if exc.code in _FORBIDDING else (400, "invalid_request_error")
    )
    return _response(status, _with_details(str(exc), exc.details), error_type, exc.code)


def _detection_unavailable(_exc: DetectionUnavailable) -> Response[Any]:
    return _response(
        503,
        "Personal-data detection is unavailable; the request was not forwarded.",
        "service_unavailable",
        "pii_detection_unavailable",
    )


def _invalid_cursor(_exc: InvalidCursor) -> Response[Any]:
    return _response(400, "The cursor is not valid.", "invalid_request_error", "invalid_cursor", "cursor")


def _invalid_dsr_request(exc: InvalidDsrRequest) -> Response[Any]:
    # The audit package writes these messages from field names and bounds, never values.
    message = str(exc)
    return _response(
        400, f"{message[:1].upper()}{message[1:]}.", "invalid_request_error", "invalid_request", exc.field
    )


def _hold_not_found(_exc: HoldNotFound) -> Response[Any]:
    # The id is not echoed: it is text the caller chose.
    return _response(404, "No active legal hold has this id.", "not_found_error", "hold_not_found", "hold_id")


def _under_legal_hold(exc: UnderLegalHold) -> Response[Any]:
    body = error_body(
        f"Refused: legal hold {exc.hold_id} covers these records; nothing was erased.",
        "invalid_request_error",
        "under_legal_hold",
    )
    body["error"]["hold_id"] = exc.hold_id
    return Response(content=body, status_code=409, media_type=MediaType.JSON)


def _records_of_another_tenant(_exc: RecordsOfAnotherTenant) -> Response[Any]:
    return _response(403, "This object belongs to another tenant.", "permission_error", "tenant_mismatch")


def _audit_error(_exc: AuditError) -> Response[Any]:
    return _response(
        503,
        "The audit log cannot record this request; it was not forwarded.",
        "service_unavailable",
        "audit_unavailable",
    )


def _rate_limiter_unavailable(_exc: RateLimiterUnavailable) -> Response[Any]:
    return _response(
        503,
        "Rate limiting is unavailable; the request was not forwarded.",
        "service_unavailable",
        "rate_limiter_unavailable",
    )


def _policy_document_error(exc: PolicyDocumentError) -> Response[Any]:
    return _response(400, str(exc), "invalid_request_error", "invalid_policy")


def _engine_unavailable(_exc: EngineUnavailable) -> Response[Any]:
    return _response(503, "No model worker is available.", "service_unavailable", "engine_unavailable")


def _engine_saturated(exc: EngineSaturated) -> Response[Any]:
    return _response(
        429,
        "Every model worker is busy; retry later.",
        "rate_limit_error",
        "engine_saturated",
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def _engine_rejected(exc: EngineRejected) -> Response[Any]:
    # The engine's own wording is not passed on: it is text the output filter never saw.
    return _response(
        exc.status,
        f"The model worker refused the request (status {exc.status}).",
        "invalid_request_error",
        "engine_rejected",
    )


def _engine_bad_response(_exc: EngineBadResponse) -> Response[Any]:
    return _response(502, "The model worker sent an invalid response.", "server_error", "engine_bad_response")


def _validation_error(exc: ValidationException) -> Response[Any]:
    """400 naming the first offending parameter or body field, never its value.

    Litestar's own message quotes the URL (query string included) and msgspec's may quote the
    value; only the field's name is kept, and only when it is one the route declares.
    """
    name = _declared_field(exc)
    message = f"Invalid value for '{name}'." if name else "Invalid query, path parameter or body."
    return _response(400, message, "invalid_request_error", "invalid_request", name)


def _http_exception(exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    fallback = ("server_error" if status >= 500 else "invalid_request_error", None)
    error_type, code = _HTTP_TYPES.get(status, fallback)
    message = exc.detail if status < 500 else "Internal server error."
    if message.startswith("Validation failed for"):
        # Litestar quotes the whole URL, query string included; name the problem only.
        message = "Invalid query or path parameter."
    headers = dict(exc.headers or {})
    return _response(status, message, error_type, code, headers=headers or None)


def _unhandled(exc: Exception) -> Response[Any]:
    log.error("request.unhandled_error", error_type=type(exc).__name__)
    return _response(500, "Internal server error.", "server_error", "internal_error")


_HANDLERS: dict[type[Exception], Callable[[Any], Response[Any]]] = {
    GatewayError: _gateway_error,
    AuthenticationError: _authentication_error,
    PolicyViolation: _policy_violation,
    DetectionUnavailable: _detection_unavailable,
    InvalidCursor: _invalid_cursor,
    # Before the generic AuditError (503): the nearest class in the MRO wins.
    InvalidDsrRequest: _invalid_dsr_request,
    HoldNotFound: _hold_not_found,
    UnderLegalHold: _under_legal_hold,
    RecordsOfAnotherTenant: _records_of_another_tenant,
    AuditError: _audit_error,
    AuditUnavailable: _audit_error,
    RateLimiterUnavailable: _rate_limiter_unavailable,
    PolicyDocumentError: _policy_document_error,
    # Before EngineUnavailable, its base class: the nearest class in the MRO wins.
    EngineSaturated: _engine_saturated,
    EngineUnavailable: _engine_unavailable,
    EngineRejected: _engine_rejected,
    EngineBadResponse: _engine_bad_response,
    ValidationException: _validation_error,
    HTTPException: _http_exception,
    Exception: _unhandled,
}


def to_response(exc: Exception) -> Response[Any]:
    """Map any exception to the OpenAI error shape: the handler of the nearest class in its MRO."""
    for cls in type(exc).__mro__:
        handler = _HANDLERS.get(cls)
        if handler is not None:
            return handler(exc)
    return _unhandled(exc)


def _handler_for(
    handler: Callable[[Any], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    def handle(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return handler(exc)

    handle.__name__ = handler.__name__
    return handle


EXCEPTION_HANDLERS: ExceptionHandlersMap = {cls: _handler_for(handler) for cls, handler in _HANDLERS.items()}
"""Litestar's ``exception_handlers`` mapping: every error type the gateway knows, and a last resort."""


def _declared_field(exc: ValidationException) -> str | None:
    """The first field named in a validation error when it is a plain identifier of at most 64
    characters (a field name of ours, not text the client chose as a key)."""
    for item in exc.extra if isinstance(exc.extra, list) else ():
        if not isinstance(item, dict):
            continue
        key, message = item.get("key"), item.get("message")
        if key == "data" and isinstance(message, str):
            # The body as a whole: msgspec names a missing field of ours; any other message
            # (an unknown field) may quote a key the client chose, so nothing is named.
            missing = _MISSING_FIELD.search(message)
            key = missing.group(1) if missing else None
        if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
            return key
    return None


def _with_details(message: str, details: dict[str, object]) -> str:
    """Name the entity types / indicators / rules a policy refusal is about (never values)."""
    names: list[str] = []
    for key in ("entity_types", "indicators", "rules", "roles", "permissions"):
        value = details.get(key)
        if isinstance(value, list | tuple):
            names.extend(str(v) for v in value)
    return f"{message} ({', '.join(names)})" if names else message
