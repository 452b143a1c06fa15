"""Request plumbing: the ASGI middleware (request id, duplicated headers refused, the request's
span, metrics and ``Server-Timing``, one log line per request, never content) and the hook that
admits only JSON request bodies."""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import InternalServerException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import InvalidRequest, UnsupportedMediaType, error_body
from gateway.observability.request import open_request

if TYPE_CHECKING:
    from gateway.observability.runtime import Observability

log = structlog.get_logger("gateway.access")

REQUEST_ID_HEADER = b"x-request-id"
CLIENT_REQUEST_ID_HEADER = b"x-client-request-id"
SERVER_TIMING_HEADER = b"server-timing"
TRACEPARENT_HEADER = b"traceparent"

# Headers the gateway decides on: two copies would leave "which one counts" to whichever layer
# reads them (the guard takes the first Authorization, a proxy in front may have checked the last).
SINGLE_VALUE_HEADERS = {
    b"authorization": "Authorization",
    b"x-data-subject": "X-Data-Subject",
    b"x-request-id": "X-Request-Id",
    b"content-type": "Content-Type",
    b"content-length": "Content-Length",
}

# Set in scope["state"] by the first request_context_middleware a request passes through.
_CONTEXT_SET = "gateway.request_context"

# What a client's X-Request-Id must look like to be echoed back (and it is only echoed back).
_PLAIN_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def new_request_id() -> str:
    """A fresh gateway request id: the only request id the audit log, logs and X-Request-Id carry."""
    return "req_" + secrets.token_hex(12)


def duplicated_header(headers: Any) -> str | None:
    """The first of ``SINGLE_VALUE_HEADERS`` that occurs more than once in raw ASGI headers."""
    seen: set[bytes] = set()
    for raw_name, _value in headers:
        name = bytes(raw_name).lower()
        if name in SINGLE_VALUE_HEADERS:
            if name in seen:
                return SINGLE_VALUE_HEADERS[name]
            seen.add(name)
    return None


def header_value(headers: Any, wanted: bytes) -> str | None:
    """The first value of header ``wanted`` (lower case) in raw ASGI headers, as latin-1 text."""
    for name, value in headers:
        if bytes(name).lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (never the path as sent), or ``unmatched``."""
    route = scope.get("route_handler")
    paths = getattr(route, "paths", None)
    return sorted(paths)[0] if paths else "unmatched"


def _observability_of(scope: Scope) -> Observability | None:
    # The app's services exist once its lifespan has started; a bare ASGI test app has none.
    state = getattr(scope.get("app"), "state", None)
    services = getattr(state, "services", None) if state is not None else None
    return getattr(services, "observability", None)


def client_request_id(headers: Any) -> bytes | None:
    """The caller's X-Request-Id when it is short and plain, to echo as X-Client-Request-Id."""
    for name, value in headers:
        if bytes(name).lower() == REQUEST_ID_HEADER:
            return bytes(value) if _PLAIN_ID.fullmatch(value) else None
    return None


async def _refuse(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = msgspec.json.encode(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Give each HTTP request a gateway-generated id (``scope['state']['request_id']``), echo it as
    ``X-Request-Id``, refuse duplicated single-value headers with 400, and log the outcome.

    It also opens the request's observation (:mod:`gateway.observability.request`): the root span
    ``"{method} {route template}"``, continuing the caller's W3C ``traceparent``; the request
    metrics when the response ends; and, on answers of the proxied routes, ``Server-Timing`` with
    what is known when the response starts (for a stream: before its body).

    A client's own ``X-Request-Id`` is never the request id: it is not stored, not logged, and is
    only echoed back (as ``X-Client-Request-Id``) when it is at most 64 characters of
    ``[A-Za-z0-9._-]``.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})
        if scope["type"] != ScopeType.HTTP or _CONTEXT_SET in state:
            # Not HTTP, or an outer copy of this middleware already gave the request its context.
            await app(scope, receive, send)
            return
        request_id = new_request_id()
        state[_CONTEXT_SET] = True
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        headers_in = scope.get("headers", ())
        echo = client_request_id(headers_in)
        method = str(scope.get("method", ""))
        observation, restore = open_request(
            _observability_of(scope),
            method=method,
            request_id=request_id,
            traceparent=header_value(headers_in, TRACEPARENT_HEADER),
        )

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                if echo is not None:
                    headers.append((CLIENT_REQUEST_ID_HEADER, echo))
                timing = observation.timing_header()
                if timing is not None:
                    headers.append((SERVER_TIMING_HEADER, timing))
                message = {**message, "headers": headers}
            await send(message)

        try:
            duplicate = duplicated_header(headers_in)
            if duplicate is not None:
                await _refuse(
                    send_wrapper,
                    400,
                    error_body(
                        f"The {duplicate} header must be sent once; this request has it more than once.",
                        "invalid_request_error",
                        "duplicate_header",
                        duplicate,
                    ),
                )
                return
            await app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            try:
                observation.finish(method=method, route=route, status=status)
                # Logged while the request's trace context is still current (trace_id, span_id).
                log.info(
                    "http.request",
                    request_id=request_id,
                    method=scope.get("method"),
                    route=route,
                    status=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 2),
                    principal=scope.get("state", {}).get("principal_id"),
                )
            finally:
                restore()

    return middleware


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, UTF-8 if a charset is named."""
    media_type, *params = content_type.split(";")
    kind, _, subtype = media_type.strip().lower().partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return False
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _announces_body(request: Request[Any, Any, Any]) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


async def read_json_body(request: Request[Any, Any, Any]) -> None:
    """Before-request hook: a POST/PUT/PATCH body must be JSON (415 otherwise), and is read here.

    A body without a Content-Type is read as JSON (it still has to decode as JSON; the routes
    speak nothing else). A client that disconnects before sending the body its Content-Length
    announced gets 400 ``incomplete_body`` instead of a server error.
    """
    if request.method not in BODY_METHODS:
        return
    content_type = request.headers.get("content-type")
    if content_type is not None and _announces_body(request) and not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            "Request bodies must be JSON: send 'Content-Type: application/json'.", param="Content-Type"
        )
    try:
        await request.body()  # cached on the connection: the handler's own body() reads it from there
    except InternalServerException:
        # Litestar's Request.stream() raises this, and only this, when the ASGI server reports
        # http.disconnect before the announced body has arrived: the request is incomplete.
        raise InvalidRequest(
            "The request body ended before the length its Content-Length announced.",
            code="incomplete_body",
        ) from None
