"""Adversarial review of the request path: hostile input, unscanned fields, engine misbehaviour.

Every test states the behaviour the gateway must have (fail closed, no personal data in errors,
a clear 4xx in the OpenAI error shape for bad input, deny by default). Values are synthetic.

Two stacks, each a real gateway process:
- ``stack``: gateway -> SGLang simulator (``tests.conftest``), for everything on the way in;
- ``fake``: gateway -> a stand-in SGLang worker served from this process (uvicorn in a thread),
  for answers the simulator cannot produce (logprobs, error frames, a stream cut without
  ``[DONE]``, engine 401).
A third, PostgreSQL-backed gateway checks that one bad request cannot fail other requests' records.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import (
    MODEL,
    Gateway,
    Simulator,
    free_port,
    gateway_cli,
    start_gateway,
    start_simulator,
    stop,
)

pytestmark = pytest.mark.e2e

PHONE = "415-555-0132"  # synthetic (555 range)
EMAIL = "jane.roe@example.org"  # synthetic (example.org)
SYNTHETIC = (PHONE, EMAIL)
ERROR_KEYS = {"message", "type", "param", "code"}


# ----------------------------------------------------------------------------- helpers


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], **extra}


def _assert_openai_4xx(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A client error in the OpenAI shape; ``statuses`` narrows which ones are right."""
    allowed = statuses or tuple(range(400, 500))
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS, error
    assert isinstance(error["message"], str) and error["message"]
    return error


def _leaks(text: str) -> list[str]:
    return [value for value in SYNTHETIC if value in text]


def _sse_lines(response: httpx.Response) -> list[str]:
    return [line for line in response.iter_lines() if line.startswith("data:")]


def _records(gw: Gateway, request_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{gw.data_dir / 'gateway.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT kind, decision FROM audit_records WHERE request_id = ? ORDER BY seq", (request_id,)
        ).fetchall()


@dataclass
class Stack:
    sim: Simulator
    gw: Gateway
    keys: dict[str, str]

    def forwarded(self) -> list[dict[str, Any]]:
        return self.sim.requests()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    sim = start_simulator()
    gw = start_gateway(tmp_path_factory.mktemp("hostile"), sim.url)
    try:
        keys = {role: gw.create_key(role) for role in ("service", "auditor", "admin")}
        yield Stack(sim, gw, keys)
    finally:
        stop(gw.proc)
        stop(sim.proc)


# ----------------------------------------------------------------------------- way in: unscanned fields

TOOL = {"type": "function", "function": {"name": "lookup", "description": "Look a record up."}}


def _tool_with(schema_extra: dict[str, Any], name: str = "lookup") -> list[dict[str, Any]]:
    prop = {"type": "string", **schema_extra}
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": "Look a record up.",
                "parameters": {"type": "object", "properties": {"who": prop}},
            },
        }
    ]


def _history_with_tool_call(name: str, call_id: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "hello"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "done"},
    ]


# (path, body): a synthetic phone number or e-mail address in a field the engine receives.
UNSCANNED: dict[str, tuple[str, dict[str, Any]]] = {
    # Chat templates render the whole tool definition (JSON schema included) into the prompt.
    "tools[].parameters enum": ("/v1/chat/completions", _chat(tools=_tool_with({"enum": [EMAIL, PHONE]}))),
    "tools[].parameters default": ("/v1/chat/completions", _chat(tools=_tool_with({"default": EMAIL}))),
    "tools[].function.name": ("/v1/chat/completions", _chat(tools=_tool_with({}, name=f"call_{PHONE}"))),
    "tools[].parameters property name": (
        "/v1/chat/completions",
        _chat(
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "object", "properties": {EMAIL: {"type": "string"}}},
                    },
                }
            ]
        ),
    ),
    # Rendered into the prompt as part of the conversation.
    "messages[].tool_calls[].function.name": (
        "/v1/chat/completions",
        {"model": MODEL, "messages": _history_with_tool_call(f"mail_{EMAIL}", "call_1")},
    ),
    "messages[].tool_call_id": (
        "/v1/chat/completions",
        {"model": MODEL, "messages": _history_with_tool_call("lookup", f"call_{PHONE}")},
    ),
    "chat_template_kwargs": ("/v1/chat/completions", _chat(chat_template_kwargs={"note": f"call {EMAIL}"})),
    "unknown message field": (
        "/v1/chat/completions",
        {"model": MODEL, "messages": [{"role": "user", "content": "hello", "audio": {"transcript": EMAIL}}]},
    ),
    "extra key in a text part": (
        "/v1/chat/completions",
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi", "image_url": {"url": EMAIL}}]}
            ],
        },
    ),
    # Constrained decoding: the engine receives the value and can be forced to emit it.
    "response_format json_schema": (
        "/v1/chat/completions",
        _chat(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object", "description": f"mail {EMAIL}"}},
            }
        ),
    ),
    "stop": ("/v1/chat/completions", _chat(stop=[PHONE])),
    "regex (SGLang)": ("/v1/chat/completions", _chat(regex=PHONE)),
    # /v1/completions: chat scans 'user', completions does not.
    "completions user": ("/v1/completions", {"model": MODEL, "prompt": "hello", "user": EMAIL}),
    "completions stop": ("/v1/completions", {"model": MODEL, "prompt": "hello", "stop": PHONE}),
}


@pytest.mark.parametrize("name", list(UNSCANNED))
def test_personal_data_in_any_forwarded_field_is_scanned_or_refused(stack: Stack, name: str) -> None:
    """Never forward unscanned text: either the value is redacted before the engine sees it, or the
    request is refused with a 4xx and nothing is forwarded."""
    path, body = UNSCANNED[name]
    stack.sim.clear()
    response = httpx.post(stack.gw.url + path, headers=_auth(stack.keys["service"]), json=body, timeout=30)
    forwarded = json.dumps(stack.forwarded(), ensure_ascii=False)
    if response.status_code >= 400:
        _assert_openai_4xx(response)
        assert forwarded == "[]", "refused, yet something reached the engine"
    else:
        assert response.status_code == 200, response.text[:300]
        assert _leaks(forwarded) == [], f"{name}: synthetic personal data reached the engine unscanned"


# ----------------------------------------------------------------------------- way in: 4xx, not 5xx


def test_validation_error_does_not_echo_a_value_containing_a_quote(stack: Stack) -> None:
    """msgspec quotes a bad enum value with double quotes when it contains a single quote."""
    body = {"model": MODEL, "messages": [{"role": f"O'Brien {PHONE}", "content": "x"}]}
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions", headers=_auth(stack.keys["service"]), json=body
    )
    _assert_openai_4xx(response, 400)
    assert _leaks(response.text) == [], response.text


@pytest.mark.parametrize(
    ("role", "path"), [("admin", "/admin/keys"), ("auditor", "/audit/export")], ids=["keys", "export"]
)
def test_unknown_field_error_does_not_echo_the_field_name(stack: Stack, role: str, path: str) -> None:
    body: dict[str, Any] = {EMAIL: 1}
    if role == "admin":
        body.update(name="k", roles=["service"])
    response = httpx.post(stack.gw.url + path, headers=_auth(stack.keys[role]), json=body)
    _assert_openai_4xx(response, 400)
    assert _leaks(response.text) == [], response.text


@pytest.mark.parametrize("subject", ["a\x01b", "\x1b[31mred", "a\x7fb"])
def test_data_subject_with_control_characters_is_refused(stack: Stack, subject: str) -> None:
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.keys["service"], **{"X-Data-Subject": subject}),
        json=_chat(),
    )
    error = _assert_openai_4xx(response, 400)
    # The HTTP parser refuses most control characters in a header value before the app sees them
    # (the same OpenAI error shape); those it lets through, the gateway's own check refuses.
    assert error["code"] in {"invalid_data_subject", "malformed_http"}, error
    assert stack.forwarded() == []


def test_overlong_model_name_is_a_client_error_not_an_audit_outage(stack: Stack) -> None:
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.keys["service"]),
        json=_chat(model="m" * 300),
    )
    _assert_openai_4xx(response, 400, 404)
    assert stack.forwarded() == []


def test_tool_arguments_with_a_lone_surrogate_escape_are_a_client_error(stack: Stack) -> None:
    """'\\ud800' inside the arguments string is valid JSON twice over, but not encodable text."""
    messages = _history_with_tool_call("lookup", "call_1")
    messages[1]["tool_calls"][0]["function"]["arguments"] = '{"who": "\\ud800"}'
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.keys["service"]),
        json={"model": MODEL, "messages": messages},
    )
    _assert_openai_4xx(response, 400)
    assert stack.forwarded() == []


def test_text_too_long_to_scan_is_a_client_error_and_never_forwarded(stack: Stack) -> None:
    """1.1 M characters fit in the 4 MiB body limit but not in the detector (spaCy max_length):
    refusing is right (fail closed), but it must be a 4xx the caller can act on, not a 503."""
    stack.sim.clear()
    response = httpx.post(
        stack.gw.url + "/v1/chat/completions",
        headers=_auth(stack.keys["service"]),
        json=_chat(messages=[{"role": "user", "content": "word " * 220_000}]),
        timeout=60,
    )
    assert stack.forwarded() == []
    _assert_openai_4xx(response, 400, 413)


def test_key_expiry_beyond_the_calendar_is_a_client_error(stack: Stack) -> None:
    response = httpx.post(
        stack.gw.url + "/admin/keys",
        headers=_auth(stack.keys["admin"]),
        json={"name": "far-future", "roles": ["service"], "expires_in_days": 10**9},
    )
    error = _assert_openai_4xx(response, 400)
    assert error["param"] == "expires_in_days"


@pytest.mark.parametrize(
    ("role", "query"),
    [
        ("auditor", "/audit/records?limit=-5"),
        ("auditor", "/audit/records?limit=0"),
        ("admin", "/admin/keys?limit=-5"),
        ("admin", "/admin/keys?cursor=garbage"),
    ],
)
def test_out_of_range_paging_parameters_are_refused(stack: Stack, role: str, query: str) -> None:
    """Bad input gets a clear 400 naming the parameter, not a silently clamped or empty page."""
    response = httpx.get(stack.gw.url + query, headers=_auth(stack.keys[role]))
    error = _assert_openai_4xx(response, 400)
    assert error["param"] in ("limit", "cursor")


def _raw(
    method: str,
    path: str,
    body: bytes | Callable[[], Iterator[bytes]] | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[str, str], httpx.Response]:
    def call(url: str, key: str) -> httpx.Response:
        content = body() if callable(body) else body
        return httpx.request(
            method, url + path, headers={**_auth(key), **(headers or {})}, content=content, timeout=30
        )

    return call


def _five_megabytes_chunked() -> Iterator[bytes]:
    """No Content-Length: the size limit must hold for a chunked body too."""
    yield b'{"model": "m", "messages": "'
    for _ in range(50):
        yield b"x" * 100_000
    yield b'"}'


ODD: dict[str, tuple[str, Callable[[str, str], httpx.Response], int]] = {
    "n is a bool": ("service", _raw("POST", "/v1/chat/completions", json.dumps(_chat(n=True)).encode()), 400),
    "messages is an object": (
        "service",
        _raw("POST", "/v1/chat/completions", b'{"model": "m", "messages": {"a": 1}}'),
        400,
    ),
    "content part is a bare string": (
        "service",
        _raw(
            "POST",
            "/v1/chat/completions",
            json.dumps(_chat(messages=[{"role": "user", "content": ["x"]}])).encode(),
        ),
        400,
    ),
    "NaN literal": (
        "service",
        _raw("POST", "/v1/chat/completions", b'{"model": "m", "messages": [], "temperature": NaN}'),
        400,
    ),
    "UTF-8 BOM": (
        "service",
        _raw("POST", "/v1/chat/completions", b"\xef\xbb\xbf" + json.dumps(_chat()).encode()),
        400,
    ),
    "gzip body without decoding": (
        "service",
        _raw("POST", "/v1/chat/completions", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
        400,
    ),
    "100k-deep nesting": (
        "service",
        _raw("POST", "/v1/chat/completions", b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        400,
    ),
    "5 MB chunked body": ("service", _raw("POST", "/v1/chat/completions", _five_megabytes_chunked), 413),
    "suffix not a string": (
        "service",
        _raw("POST", "/v1/completions", json.dumps({"model": MODEL, "prompt": "x", "suffix": 5}).encode()),
        400,
    ),
    "seq at 2**63": ("auditor", _raw("GET", "/audit/records/9223372036854775808"), 404),
    "seq not a number": ("auditor", _raw("GET", "/audit/records/abc"), 404),
    "limit with 5000 digits": ("auditor", _raw("GET", "/audit/records?limit=" + "9" * 5000), 400),
    "since 5000 digits": ("auditor", _raw("GET", "/audit/records?since=" + "9" * 5000), 400),
    "key id with odd bytes": ("admin", _raw("POST", "/admin/keys/%00%ff/revoke"), 404),
    "wrong method": ("service", _raw("DELETE", "/v1/chat/completions"), 405),
    "undeclared OPTIONS": ("service", _raw("OPTIONS", "/v1/chat/completions"), 403),
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_input_gets_a_clear_4xx_and_reaches_nothing(stack: Stack, name: str) -> None:
    role, call, status = ODD[name]
    stack.sim.clear()
    response = call(stack.gw.url, stack.keys[role])
    _assert_openai_4xx(response, status)
    assert stack.forwarded() == []


@pytest.mark.parametrize(
    "header",
    [b"Bearer gw_\xff\xfe", b"Bearer gw_" + b"a" * 10_000, b"Bearer " + b"a" * 5000 + b".b.c", b"Basic Zm9v"],
    ids=["latin-1 bytes", "10 KB key", "JWT-shaped without JWKS", "basic auth"],
)
def test_odd_authorization_headers_are_401(stack: Stack, header: bytes) -> None:
    response = httpx.get(stack.gw.url + "/v1/models", headers=[(b"Authorization", header)])
    _assert_openai_4xx(response, 401)


# ----------------------------------------------------------------------------- a stand-in SGLang worker


def _chat_answer(message: dict[str, Any], **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop", **choice}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5},
    }


def _chunk(delta: dict[str, Any], finish: str | None = None, **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **choice}],
    }


USAGE_CHUNK = {
    "id": "chatcmpl-fake",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": MODEL,
    "choices": [],
    "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5},
}


@dataclass
class FakeEngine:
    """Answers each generation request with the next planned reply: ``{"status", "json"}`` or
    ``{"frames": [...]}`` (dicts become ``data:`` events, ``"[DONE]"`` is sent as is; the body
    ends cleanly after the last frame). Unplanned requests get a plain "ok" answer."""

    plans: deque[dict[str, Any]] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "GET":
            if scope["path"] == "/v1/models":
                return await _send_json(
                    send, 200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
                )
            return await _send_json(send, 200, {})
        self.requests.append(json.loads(body))
        plan = (
            self.plans.popleft() if self.plans else {"status": 200, "json": _chat_answer({"content": "ok"})}
        )
        if "frames" not in plan:
            return await _send_json(send, plan["status"], plan["json"])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for frame in plan["frames"]:
            data = frame.encode() if isinstance(frame, str) else json.dumps(frame).encode()
            await send({"type": "http.response.body", "body": b"data: " + data + b"\n\n", "more_body": True})
            await asyncio.sleep(0.005)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _send_json(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Fake:
    engine: FakeEngine
    gw: Gateway
    key: str


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    engine = FakeEngine()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            engine, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    gw = start_gateway(tmp_path_factory.mktemp("fake"), f"http://127.0.0.1:{port}")
    try:
        yield Fake(engine, gw, gw.create_key("service"))
    finally:
        stop(gw.proc)
        server.should_exit = True
        thread.join(timeout=10)


def _logprob(token: str) -> dict[str, Any]:
    entry = {"token": token, "logprob": -0.1, "bytes": list(token.encode())}
    return {**entry, "top_logprobs": [entry]}


def test_logprobs_do_not_carry_what_the_output_filter_redacted(fake: Fake) -> None:
    """The content's leaked e-mail is redacted; the same text must not come back in logprobs."""
    tokens = ["Write", " to", f" {EMAIL}", " today."]
    fake.engine.plans.append(
        {
            "status": 200,
            "json": _chat_answer(
                {"content": "".join(tokens)}, logprobs={"content": [_logprob(t) for t in tokens]}
            ),
        }
    )
    response = httpx.post(
        fake.gw.url + "/v1/chat/completions",
        headers=_auth(fake.key),
        json=_chat(logprobs=True, top_logprobs=1),
    )
    assert response.status_code == 200, response.text
    assert EMAIL not in response.json()["choices"][0]["message"]["content"]  # the content filter works
    assert _leaks(response.text) == [], "logprobs bypass the output filter"


def test_streamed_logprobs_do_not_carry_what_the_output_filter_redacted(fake: Fake) -> None:
    tokens = ["Write", " to", f" {EMAIL}", " today."]
    frames: list[Any] = [_chunk({"role": "assistant", "content": ""})]
    frames += [_chunk({"content": t}, logprobs={"content": [_logprob(t)]}) for t in tokens]
    frames += [_chunk({}, "stop"), USAGE_CHUNK, "[DONE]"]
    fake.engine.plans.append({"frames": frames})
    with httpx.stream(
        "POST",
        fake.gw.url + "/v1/chat/completions",
        headers=_auth(fake.key),
        json=_chat(stream=True, logprobs=True, top_logprobs=1),
    ) as response:
        lines = _sse_lines(response)
    assert lines[-1] == "data: [DONE]"
    content = "".join(
        (json.loads(line[5:])["choices"] or [{}])[0].get("delta", {}).get("content") or ""
        for line in lines[:-1]
    )
    assert EMAIL not in content  # the content filter works
    assert _leaks("\n".join(lines)) == [], "streamed logprobs bypass the output filter"


def test_answer_content_of_an_unexpected_type_is_not_passed_unfiltered(fake: Fake) -> None:
    """Deny by default on the way out: text the filter cannot read must not reach the client."""
    fake.engine.plans.append(
        {"status": 200, "json": _chat_answer({"content": [{"type": "text", "text": f"mail {EMAIL}"}]})}
    )
    response = httpx.post(fake.gw.url + "/v1/chat/completions", headers=_auth(fake.key), json=_chat())
    assert _leaks(response.text) == [], response.text[:300]


def test_engine_error_text_does_not_bypass_the_output_filter(fake: Fake) -> None:
    fake.engine.plans.append(
        {
            "status": 400,
            "json": {
                "object": "error",
                "message": f"tool output for {EMAIL} could not be parsed",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
        }
    )
    response = httpx.post(fake.gw.url + "/v1/chat/completions", headers=_auth(fake.key), json=_chat())
    _assert_openai_4xx(response, 400)
    assert _leaks(response.text) == [], response.text


def test_streamed_engine_error_event_does_not_bypass_the_output_filter(fake: Fake) -> None:
    frames: list[Any] = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "partial "}),
        {
            "error": {
                "message": f"detokenizer failed near {EMAIL}",
                "type": "InternalServerError",
                "code": 500,
            }
        },
        "[DONE]",
    ]
    fake.engine.plans.append({"frames": frames})
    with httpx.stream(
        "POST", fake.gw.url + "/v1/chat/completions", headers=_auth(fake.key), json=_chat(stream=True)
    ) as response:
        lines = _sse_lines(response)
    assert "data: [DONE]" not in lines
    assert set(json.loads(lines[-1][5:])["error"]) == ERROR_KEYS, lines[-1]  # the OpenAI shape
    assert _leaks("\n".join(lines)) == [], lines[-1]


def test_engine_refusing_the_gateways_own_credential_is_not_a_401_to_the_caller(fake: Fake) -> None:
    """The caller's key is valid; a wrong engine API key is the gateway's fault (5xx), and a 401
    would send the caller off to rotate a good key."""
    fake.engine.plans.append(
        {
            "status": 401,
            "json": {
                "object": "error",
                "message": "Unauthorized",
                "type": "AuthenticationError",
                "code": 401,
            },
        }
    )
    response = httpx.post(fake.gw.url + "/v1/chat/completions", headers=_auth(fake.key), json=_chat())
    assert response.status_code in (502, 503), (response.status_code, response.text)
    assert set(response.json()["error"]) == ERROR_KEYS


def test_stream_cut_without_finish_or_done_is_not_presented_as_complete(fake: Fake) -> None:
    """The worker's body ends cleanly after two tokens, with no finish_reason and no [DONE]: the
    client must not get [DONE], and the response record must not say the answer completed."""
    frames: list[Any] = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "one "}),
        _chunk({"content": "two "}),
    ]
    fake.engine.plans.append({"frames": frames})
    with httpx.stream(
        "POST", fake.gw.url + "/v1/chat/completions", headers=_auth(fake.key), json=_chat(stream=True)
    ) as response:
        lines = _sse_lines(response)
    request_id = response.headers["x-request-id"]
    assert "data: [DONE]" not in lines, "a truncated answer was presented as complete"
    assert "error" in json.loads(lines[-1][5:])
    assert _records(fake.gw, request_id) == [("chat.request", "allow"), ("chat.response", "error")]


# ----------------------------------------------------------------------------- PostgreSQL: one bad request


@pytest.fixture(scope="module")
def pg_gateway(
    postgres_url: str, stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, dict[str, str]]]:
    import asyncpg

    admin_dsn = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"gw_hostile_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at {admin_dsn} is not usable: {type(exc).__name__}")
    env = {"GATEWAY_STORAGE__URL": postgres_url.rsplit("/", 1)[0] + "/" + name}
    gw: Gateway | None = None
    try:
        gw = start_gateway(tmp_path_factory.mktemp("hostile-pg"), stack.sim.url, env)
        keys: dict[str, str] = {}
        for role in ("service", "auditor"):
            result = gateway_cli(
                "keys",
                "create",
                "--name",
                f"pg-{role}",
                "--role",
                role,
                "--json",
                data_dir=gw.data_dir,
                env=env,
            )
            assert result.returncode == 0, result.stderr
            keys[role] = json.loads(result.stdout)["key"]
        yield gw, keys
    finally:
        if gw is not None:
            stop(gw.proc)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_one_request_with_a_nul_in_model_fails_only_itself(
    pg_gateway: tuple[Gateway, dict[str, str]],
) -> None:
    """PostgreSQL text cannot hold NUL; the audit writer commits records in batches, so a NUL in
    the (unvalidated) model name must be refused at the edge, not fail everyone's records."""
    gw, keys = pg_gateway

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def one(i: int) -> int:
                body = _chat(model="a\u0000b" if i == 10 else MODEL)
                response = await client.post(
                    gw.url + "/v1/chat/completions", headers=_auth(keys["service"]), json=body
                )
                return response.status_code

            return list(await asyncio.gather(*(one(i) for i in range(30))))

    statuses = asyncio.run(burst())
    poison = statuses.pop(10)
    assert statuses == [200] * 29, f"innocent requests failed: {statuses}"
    assert 400 <= poison < 500, poison


@pytest.mark.postgres
def test_audit_filter_with_a_nul_is_a_client_error(pg_gateway: tuple[Gateway, dict[str, str]]) -> None:
    gw, keys = pg_gateway
    response = httpx.get(gw.url + "/audit/records?principal=%00x", headers=_auth(keys["auditor"]))
    _assert_openai_4xx(response, 400)


# ----------------------------------------------------------------------------- logs, last


def test_logs_hold_no_synthetic_personal_data_and_no_traceback(stack: Stack, fake: Fake) -> None:
    for gw in (stack.gw, fake.gw):
        text = gw.log_text()
        assert _leaks(text) == []
        assert "Traceback" not in text
        assert "O'Brien" not in text
