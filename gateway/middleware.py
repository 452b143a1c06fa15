"""ASGI middleware: request id, and one structured log line per request (never content)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("gateway.access")

REQUEST_ID_HEADER = b"x-request-id"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            # Accept a caller's id only if it is short and plain, so it is safe to log and echo.
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
    return None


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Assigns a request id (``scope['state']['request_id']``), echoes it, logs the outcome."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route_handler")
            log.info(
                "http.request",
                request_id=request_id,
                method=scope.get("method"),
                route=(getattr(route, "paths", None) and sorted(route.paths)[0]) or "unmatched",
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                principal=scope.get("state", {}).get("principal_id"),
            )

    return middleware
