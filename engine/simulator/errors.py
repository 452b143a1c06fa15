"""The simulator's errors and SGLang's (OpenAI-style) error body they are answered with."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException


class SimHTTPError(HTTPException):
    """An error answered in SGLang's error shape."""


def bad_request(message: str) -> SimHTTPError:
    """A 400 naming the bad field (never its value)."""
    return SimHTTPError(status_code=400, detail=message)


_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    405: "MethodNotAllowed",
    413: "RequestEntityTooLarge",
    429: "RateLimitError",
    503: "ServiceUnavailable",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """SGLang's (OpenAI-style) error shape."""
    error_type = _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"object": "error", "message": message, "type": error_type, "param": None, "code": status}


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Exception handler: any HTTP error (Litestar's own included) in SGLang's error shape."""
    return Response(
        error_body(exc.status_code, exc.detail), status_code=exc.status_code, headers=exc.headers or None
    )


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Exception handler: anything else is a 500 naming the exception's type only, as SGLang does."""
    return Response(error_body(500, f"Internal server error: {type(exc).__name__}"), status_code=500)
