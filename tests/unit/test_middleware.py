"""Request plumbing without a server: request ids, duplicated headers, JSON-only bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar, Request, post
from litestar.testing import TestClient
from litestar.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from gateway.errors import EXCEPTION_HANDLERS
from gateway.middleware import (
    client_request_id,
    duplicated_header,
    is_json_media_type,
    read_json_body,
    request_context_middleware,
)

ERROR_KEYS = {"message", "type", "param", "code"}


# ----------------------------------------------------------------------------- pure parts


def test_duplicated_single_value_header_is_named_whatever_its_case() -> None:
    headers = [(b"authorization", b"Bearer a"), (b"accept", b"*/*"), (b"Authorization", b"Bearer b")]
    assert duplicated_header(headers) == "Authorization"
    assert duplicated_header([(b"x-data-subject", b"p1"), (b"x-data-subject", b"p2")]) == "X-Data-Subject"


def test_repeated_ordinary_headers_are_not_duplicates() -> None:
    headers = [(b"accept", b"a"), (b"accept", b"b"), (b"authorization", b"Bearer a")]
    assert duplicated_header(headers) is None


@pytest.mark.parametrize("value", [b"trace-123", b"A.b_c-9", b"x" * 64])
def test_plain_client_request_id_is_echoed(value: bytes) -> None:
    assert client_request_id([(b"x-request-id", value)]) == value


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 65, b"has space", b"caf\xe9", b"line\nbreak", b"a/b", b"\xd9\xa1\xd9\xa2"],
    ids=["empty", "65 chars", "space", "latin-1 letter", "line break", "slash", "arabic digits"],
)
def test_odd_client_request_id_is_not_echoed(value: bytes) -> None:
    assert client_request_id([(b"x-request-id", value)]) is None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/vnd.api+json",
        "application/merge-patch+json; charset=utf8",
    ],
)
def test_json_media_types_are_accepted(content_type: str) -> None:
    assert is_json_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonl",
        "application/json; charset=latin-1",
        "application/octet-stream",
        "",
    ],
)
def test_other_media_types_are_refused(content_type: str) -> None:
    assert not is_json_media_type(content_type)


# ----------------------------------------------------------------------------- the ASGI middleware


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {  # type: ignore[return-value]
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": headers,
        "state": {},
    }


async def _call(headers: list[tuple[bytes, bytes]]) -> tuple[list[Message], Scope | None]:
    """Run the middleware around an app that answers 200; the messages sent and the scope it saw."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}  # type: ignore[return-value]

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await request_context_middleware(app)(_scope(headers), receive, send)  # type: ignore[arg-type]
    return sent, (seen[0] if seen else None)


def _headers(message: Message) -> dict[bytes, bytes]:
    return dict(message["headers"])  # type: ignore[typeddict-item]


async def test_request_id_is_the_gateways_own_even_when_the_client_sends_one() -> None:
    with capture_logs() as logs:
        sent, scope = await _call([(b"x-request-id", b"trace-123")])
    assert scope is not None
    request_id = scope["state"]["request_id"]
    assert request_id.startswith("req_") and request_id != "trace-123"
    headers = _headers(sent[0])
    assert headers[b"x-request-id"] == request_id.encode()
    assert headers[b"x-client-request-id"] == b"trace-123"
    assert [entry["request_id"] for entry in logs if entry["event"] == "http.request"] == [request_id]
    assert "trace-123" not in json.dumps(logs)


async def test_the_same_client_request_id_gives_two_requests_two_ids() -> None:
    _, first = await _call([(b"x-request-id", b"shared"), (b"authorization", b"Bearer one")])
    _, second = await _call([(b"x-request-id", b"shared"), (b"authorization", b"Bearer two")])
    assert first is not None and second is not None
    assert first["state"]["request_id"] != second["state"]["request_id"]


async def test_odd_client_request_id_is_neither_echoed_nor_used() -> None:
    sent, scope = await _call([(b"x-request-id", b"a b")])
    assert scope is not None and scope["state"]["request_id"].startswith("req_")
    assert b"x-client-request-id" not in _headers(sent[0])


@pytest.mark.parametrize(
    "name", [b"authorization", b"x-data-subject", b"x-request-id", b"content-type", b"content-length"]
)
async def test_duplicated_single_value_header_is_400_before_the_app_runs(name: bytes) -> None:
    sent, scope = await _call([(name, b"1"), (b"accept", b"*/*"), (name, b"2")])
    assert scope is None  # the app never saw the request
    start, body = sent
    assert start["status"] == 400  # type: ignore[typeddict-item]
    headers = _headers(start)
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-request-id"].startswith(b"req_")
    error = json.loads(body["body"])["error"]  # type: ignore[typeddict-item]
    assert set(error) == ERROR_KEYS
    assert error["code"] == "duplicate_header" and error["type"] == "invalid_request_error"
    assert error["param"].lower() == name.decode()


# ----------------------------------------------------------------------------- the body hook


@post("/echo", status_code=200)
async def _echo(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"length": len(await request.body())}


@post("/empty", status_code=200)
async def _empty(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"ok": True}


def _app() -> Litestar:
    return Litestar(
        route_handlers=[_echo, _empty],
        before_request=read_json_body,
        exception_handlers=EXCEPTION_HANDLERS,
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_body_is_415(content_type: str) -> None:
    with TestClient(_app()) as client:
        response = client.post("/echo", content=b'{"a": 1}', headers={"Content-Type": content_type})
    assert response.status_code == 415
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and error["code"] == "unsupported_media_type"


def test_json_body_reaches_the_handler_once_read() -> None:
    with TestClient(_app()) as client:
        response = client.post(
            "/echo", content=b'{"a": 1}', headers={"Content-Type": "application/json; charset=utf-8"}
        )
    assert response.status_code == 200 and response.json() == {"length": 8}


def test_body_without_content_type_is_read_as_json() -> None:
    with TestClient(_app()) as client:
        response = client.post("/echo", content=b'{"a": 1}')
    assert response.status_code == 200 and response.json() == {"length": 8}


def test_bodyless_post_needs_no_json_content_type() -> None:
    with TestClient(_app()) as client:
        response = client.post("/empty", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


async def test_client_disconnecting_before_the_announced_body_is_400_not_500() -> None:
    """Litestar reports the disconnect as a 500; the gateway answers it as the client's bad request."""
    app = _app()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with capture_logs() as logs:
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["error"]["code"] == "incomplete_body"
    assert not [entry for entry in logs if entry["event"] == "request.unhandled_error"]
