"""HTTP edges against a real gateway process: duplicated headers, request ids, media types, and
bodies that do not match their Content-Length (raw sockets)."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import MODEL, Gateway, Simulator, gateway_cli, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

ERROR_KEYS = {"message", "type", "param", "code"}
CHAT = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hello there"}]}).encode()


@dataclass
class Stack:
    sim: Simulator
    gw: Gateway
    keys: dict[str, str]

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.gw.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    sim = start_simulator()
    try:
        gw = start_gateway(tmp_path_factory.mktemp("edge"), sim.url)
    except RuntimeError:
        stop(sim.proc)
        raise
    try:
        keys = {role: gw.create_key(role) for role in ("service", "clinician", "admin", "auditor")}
        keys["service2"] = gw.create_key("service")
        yield Stack(sim, gw, keys)
    finally:
        stop(gw.proc)
        stop(sim.proc)


def _bearer(key: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {key}")


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS and error["code"] == code, error
    return error


def _db_values(gw: Gateway) -> str:
    """Every value of every table of the gateway's database, as one text."""
    with sqlite3.connect(f"file:{gw.data_dir / 'gateway.db'}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


def _principals_of(gw: Gateway, request_id: str) -> set[str]:
    with sqlite3.connect(f"file:{gw.data_dir / 'gateway.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT principal FROM audit_records WHERE request_id = ?", (request_id,))
        return {row[0] for row in rows}


# ----------------------------------------------------------------------------- duplicated headers


def test_two_authorization_headers_are_400_not_first_one_wins(stack: Stack) -> None:
    stack.sim.clear()
    for first, second in (("service", "clinician"), ("clinician", "service"), ("service", "service")):
        response = httpx.post(
            stack.gw.url + "/v1/chat/completions",
            headers=[
                _bearer(stack.keys[first]),
                _bearer(stack.keys[second]),
                ("Content-Type", "application/json"),
            ],
            content=CHAT,
        )
        error = _assert_error(response, 400, "duplicate_header")
        assert error["param"] == "Authorization"
        assert stack.keys[first] not in response.text and stack.keys[second] not in response.text
        assert response.headers["x-request-id"].startswith("req_")
    assert stack.sim.requests() == []


def test_two_data_subject_headers_are_400(stack: Stack) -> None:
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=[
            _bearer(stack.keys["clinician"]),
            ("X-Data-Subject", "patient-0001"),
            ("X-Data-Subject", "patient-0002"),
            ("Content-Type", "application/json"),
        ],
        content=CHAT,
    )
    error = _assert_error(response, 400, "duplicate_header")
    assert error["param"] == "X-Data-Subject" and "patient-000" not in response.text
    assert stack.sim.requests() == []


@pytest.mark.parametrize(
    ("name", "values"),
    [("X-Request-Id", ("a", "b")), ("Content-Type", ("application/json", "text/plain"))],
)
def test_other_duplicated_single_value_headers_are_400(
    stack: Stack, name: str, values: tuple[str, str]
) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=[_bearer(stack.keys["service"]), *((name, value) for value in values)],
        content=CHAT,
    )
    assert _assert_error(response, 400, "duplicate_header")["param"] == name


# ----------------------------------------------------------------------------- request ids


def test_a_client_request_id_never_becomes_the_audit_request_id(stack: Stack) -> None:
    client_id = f"shared-{uuid.uuid4().hex[:12]}"
    gateway_ids = []
    for role in ("service", "service2"):
        response = httpx.post(
            stack.gw.url + "/v1/chat/completions",
            headers=[_bearer(stack.keys[role]), ("X-Request-Id", client_id)],
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-client-request-id"] == client_id
        gateway_ids.append(response.headers["x-request-id"])
    assert all(rid.startswith("req_") for rid in gateway_ids) and len(set(gateway_ids)) == 2
    for rid in gateway_ids:
        assert len(_principals_of(stack.gw, rid)) == 1  # a request record and a response record, one caller
    assert client_id not in _db_values(stack.gw)
    assert client_id not in stack.gw.log_text()


@pytest.mark.parametrize("value", ["x" * 65, "has space", "a/b", "<script>"])
def test_an_odd_client_request_id_is_not_echoed(stack: Stack, value: str) -> None:
    response = httpx.get(
        stack.gw.url + "/v1/models", headers=[_bearer(stack.keys["service"]), ("X-Request-Id", value)]
    )
    assert response.status_code == 200
    assert "x-client-request-id" not in response.headers
    assert response.headers["x-request-id"].startswith("req_")


# ----------------------------------------------------------------------------- media types


JSON_POSTS = [
    ("service", "/v1/chat/completions", CHAT),
    ("service", "/v1/completions", json.dumps({"model": MODEL, "prompt": "hi"}).encode()),
    ("admin", "/admin/keys", json.dumps({"name": "x", "roles": ["service"]}).encode()),
    ("auditor", "/audit/export", b"{}"),
]


@pytest.mark.parametrize(("role", "path", "body"), JSON_POSTS, ids=[p for _r, p, _b in JSON_POSTS])
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_non_json_body_on_a_json_route_is_415(
    stack: Stack, role: str, path: str, body: bytes, content_type: str
) -> None:
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + path,
        headers=[_bearer(stack.keys[role]), ("Content-Type", content_type)],
        content=body,
    )
    _assert_error(response, 415, "unsupported_media_type")
    assert stack.sim.requests() == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"]
)
def test_json_media_types_with_parameters_are_served(stack: Stack, content_type: str) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=[_bearer(stack.keys["service"]), ("Content-Type", content_type)],
        content=CHAT,
    )
    assert response.status_code == 200, response.text


def test_body_without_content_type_is_read_as_json(stack: Stack) -> None:
    """Decision: no Content-Type is not a claim of another format; the body must still be JSON."""
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions", headers=[_bearer(stack.keys["service"])], content=CHAT
    )
    assert "content-type" not in response.request.headers
    assert response.status_code == 200, response.text


def test_bodyless_post_with_a_stray_content_type_is_not_415(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/admin/keys/no-such-key/revoke",
        headers=[_bearer(stack.keys["admin"]), ("Content-Type", "text/plain")],
    )
    _assert_error(response, 404, "not_found")


def test_non_json_body_without_credentials_is_still_401(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions", headers={"Content-Type": "text/plain"}, content=b"hello"
    )
    assert response.status_code == 401


# ----------------------------------------------------------------------------- Content-Length vs body


def _raw_exchange(stack: Stack, request: bytes, *, then: str) -> bytes:
    """Send ``request`` on a fresh connection, then half-close ("shutdown") or close ("close") it;
    returns whatever the gateway answered before closing (bounded wait)."""
    with socket.create_connection(stack.address, timeout=30) as sock:
        sock.sendall(request)
        if then == "close":
            return b""
        sock.shutdown(socket.SHUT_WR)
        received = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
        return received


def _post(stack: Stack, body: bytes, length: bytes, key: str | None = None) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
        + f"Authorization: Bearer {key or stack.keys['service']}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: "
        + length
        + b"\r\n\r\n"
        + body
    )


def _first_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, rest[: int(headers.get("content-length", len(rest)))]


def _new_access_lines(stack: Stack, offset: int, principal: str, count: int = 1) -> list[dict[str, Any]]:
    """The access-log lines of ``principal`` written after ``offset`` (waits, bounded, for ``count``
    of them). By principal: an earlier test's line is written after its response went out, so on a
    busy machine it may land after ``offset``."""
    deadline = time.monotonic() + 30
    while True:
        lines = [
            json.loads(line) for line in stack.gw.log_text()[offset:].splitlines() if '"http.request"' in line
        ]
        lines = [line for line in lines if line.get("principal") == principal]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize("then", ["shutdown", "close"])
def test_content_length_longer_than_the_body_is_400_or_a_closed_connection(stack: Stack, then: str) -> None:
    created = gateway_cli(
        "keys", "create", "--name", "cl", "--role", "service", "--json", data_dir=stack.gw.data_dir
    )
    principal, key = json.loads(created.stdout)["id"], json.loads(created.stdout)["key"]
    offset = len(stack.gw.log_text())
    answer = _raw_exchange(stack, _post(stack, CHAT, str(len(CHAT) + 100).encode(), key), then=then)
    if answer:
        assert _first_response(answer)[0] == 400, answer[:300]
    lines = _new_access_lines(stack, offset, principal)
    assert [(line["route"], line["status"]) for line in lines] == [("/v1/chat/completions", 400)]
    assert "request.unhandled_error" not in stack.gw.log_text()[offset:]


def test_content_length_shorter_than_the_body_is_400(stack: Stack) -> None:
    stack.sim.clear()
    offset = len(stack.gw.log_text())
    answer = _raw_exchange(stack, _post(stack, CHAT, str(len(CHAT) - 5).encode()), then="shutdown")
    status, headers, body = _first_response(answer)
    assert status == 400 and headers["content-type"] == "application/json"
    assert set(json.loads(body)["error"]) == ERROR_KEYS
    assert stack.sim.requests() == []
    assert '"status": 500' not in stack.gw.log_text()[offset:]


@pytest.mark.parametrize(
    "length", [b"abc", b"-5", b"1e3", b"5, 6"], ids=["letters", "negative", "exponent", "two values"]
)
def test_malformed_content_length_is_400(stack: Stack, length: bytes) -> None:
    offset = len(stack.gw.log_text())
    answer = _raw_exchange(stack, _post(stack, CHAT, length), then="shutdown")
    assert _first_response(answer)[0] == 400, answer[:300]
    assert '"status": 500' not in stack.gw.log_text()[offset:]


# ----------------------------------------------------------------------------- what the HTTP parser refuses


def _refusal(raw: bytes, status: int, code: str) -> None:
    got, headers, body = _first_response(raw)
    assert got == status and headers["content-type"] == "application/json", raw[:300]
    error = json.loads(body)["error"]
    assert set(error) == ERROR_KEYS and error["code"] == code, error


def test_a_request_the_parser_refuses_gets_the_openai_error_shape(stack: Stack) -> None:
    stack.sim.clear()
    request = _post(stack, CHAT, str(len(CHAT)).encode()).replace(
        b"Host: gateway\r\n", b"Host: gateway\r\nX-Odd: a\x01b\r\n"
    )
    _refusal(_raw_exchange(stack, request, then="shutdown"), 400, "malformed_http")
    assert stack.sim.requests() == []


def _send_head_without_end(stack: Stack, start: bytes, piece: bytes, total: int) -> bytes:
    """Send ``start`` then ``piece`` again and again (a head that never ends) until the gateway
    answers and closes, or ``total`` bytes have gone; returns what it answered."""
    with socket.create_connection(stack.address, timeout=30) as sock:
        sent = 0
        try:
            sock.sendall(start)
            while sent < total:
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway refused and closed while the head was still coming
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received


@pytest.mark.parametrize(
    ("start", "piece"),
    [
        (b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n", b"X-Filler: " + b"a" * 990 + b"\r\n"),
        (b"GET /v1/models?q=", b"a" * 1000),
    ],
    ids=["headers without end", "request line without end"],
)
def test_a_head_without_end_is_431_and_the_gateway_serves_on(
    stack: Stack, start: bytes, piece: bytes
) -> None:
    answer = _send_head_without_end(stack, start, piece, total=4 * 1024 * 1024)
    _refusal(answer, 431, "headers_too_large")
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions", headers=[_bearer(stack.keys["service"])], json=json.loads(CHAT)
    )
    assert response.status_code == 200


def test_a_head_just_under_the_bound_is_served(stack: Stack) -> None:
    filler = [(f"X-Filler-{i}", "a" * 1000) for i in range(50)]  # about 51 KB of headers
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=[_bearer(stack.keys["service"]), *filler],
        json=json.loads(CHAT),
    )
    assert response.status_code == 200, response.text[:300]


def test_gateway_serves_on_and_never_logged_a_server_error(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions", headers=[_bearer(stack.keys["service"])], json=json.loads(CHAT)
    )
    assert response.status_code == 200
    log = stack.gw.log_text()
    assert "request.unhandled_error" not in log and "Traceback" not in log
    assert '"status": 500' not in log
