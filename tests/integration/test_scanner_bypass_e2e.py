"""Nothing reaches the engine or the audit log around the scanner (issue 17), through real processes.

Every string and number the engine receives is scanned (and redacted), or is a protocol word the
gateway checked against its vocabulary, or the request is refused before it is forwarded. The model
name is checked against what the engine serves (or a site alias) before anything is recorded, so a
made-up name, or one holding personal data, never lands in the audit log's ``model`` column, where
the hash chain would keep it for good. What the engine saw is read back from the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import MODEL, Gateway, Simulator, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

SSN = "536-22-1234"  # synthetic
CARD = 4111111111111111  # the test card number
NAME = "Maria Gonzalez"
ALIAS = "site-chat"
VALUES = (SSN, str(CARD), NAME)


@dataclass
class Stack:
    sim: Simulator
    gw: Gateway
    service: str
    auditor: str
    served_only: str

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.gw.url + "/v1", api_key=key or self.service, max_retries=0, timeout=30
        )

    def forwarded(self) -> str:
        return json.dumps(self.sim.requests(), ensure_ascii=False)

    def audit_models(self) -> set[str | None]:
        models: set[str | None] = set()
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = httpx.get(
                self.gw.url + "/audit/records",
                headers={"Authorization": f"Bearer {self.auditor}"},
                params=params,
                timeout=10,
            ).json()
            models.update(record["model"] for record in page["data"])
            cursor = page["next_cursor"]
            if cursor is None:
                return models


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    sim = start_simulator()
    gw = start_gateway(
        tmp_path_factory.mktemp("bypass"), sim.url, {"GATEWAY_ENGINE__MODEL_ALIASES": f"{ALIAS}={MODEL}"}
    )
    try:
        yield Stack(
            sim,
            gw,
            gw.create_key("service"),
            gw.create_key("auditor"),
            gw.create_key("service", "--models", MODEL),
        )
    finally:
        stop(gw.proc)
        stop(sim.proc)


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": "hello"}]


# (keyword arguments for chat.completions.create, expected error code): each one answered 200 with
# the value at the engine before.
BYPASSES: dict[str, tuple[dict[str, Any], str]] = {
    "nested key 'type'": (
        {"extra_body": {"chat_template_kwargs": {"type": f"{NAME} ssn {SSN}"}}},
        "pii_in_unredactable_field",
    ),
    "response_format.type": ({"response_format": {"type": f"card {CARD}"}}, "invalid_request"),
    "nested key 'model'": (
        {"extra_body": {"metadata": {"model": f"SSN {SSN}"}}},
        "pii_in_unredactable_field",
    ),
    "nested key 'role'": (
        {"extra_body": {"metadata": {"role": f"{NAME} SSN {SSN}"}}},
        "pii_in_unredactable_field",
    ),
    "number": ({"extra_body": {"metadata": {"card": CARD}}}, "pii_in_unredactable_field"),
    "top-level key": ({"extra_body": {f"{NAME} SSN {SSN}": 1}}, "pii_in_unredactable_field"),
    "tool type": (
        {"tools": [{"type": f"SSN {SSN}", "function": {"name": "lookup"}}]},  # type: ignore[list-item]
        "invalid_request",
    ),
    "tool_choice": ({"tool_choice": f"card {CARD}"}, "invalid_request"),
}


@pytest.mark.parametrize("name", list(BYPASSES))
def test_values_around_the_scanner_are_refused_before_the_engine(stack: Stack, name: str) -> None:
    kwargs, code = BYPASSES[name]
    stack.sim.clear()
    with pytest.raises(openai.BadRequestError) as info:
        stack.client().chat.completions.create(model=MODEL, messages=_messages(), **kwargs)  # type: ignore[call-overload]
    assert info.value.status_code == 400
    assert info.value.code == code
    text = info.value.response.text
    assert not [v for v in VALUES if v in text], text
    assert stack.sim.requests() == [], "refused, yet something reached the engine"


def test_completions_numbers_and_keys_are_scanned_too(stack: Stack) -> None:
    stack.sim.clear()
    for extra in ({"metadata": {"card": CARD}}, {f"{NAME} SSN {SSN}": True}):
        with pytest.raises(openai.BadRequestError) as info:
            stack.client().completions.create(model=MODEL, prompt="hello", extra_body=extra)
        assert info.value.code == "pii_in_unredactable_field"
    assert stack.sim.requests() == []


def test_ordinary_requests_reach_the_engine_unchanged(stack: Stack) -> None:
    stack.sim.clear()
    extras = {
        "top_k": 20,
        "regex": r"[a-z ]+",
        "chat_template_kwargs": {"enable_thinking": False},
        "logit_bias": {"50256": -100},
    }
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    response_format = {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    answer = stack.client().chat.completions.create(
        model=MODEL,
        messages=_messages(),
        temperature=0.7,
        max_tokens=512,
        seed=4155550132,  # looks like a phone number; seeds are random by nature and not scanned
        stop=["\n\n"],
        tools=tools,  # type: ignore[arg-type]
        tool_choice="auto",
        response_format=response_format,  # type: ignore[arg-type]
        extra_body=extras,
    )
    assert answer.choices[0].message.content == "hello"
    (body,) = stack.sim.requests()
    for key, value in {
        **extras,
        "seed": 4155550132,
        "tools": tools,
        "response_format": response_format,
    }.items():
        assert body[key] == value, key


def test_unknown_models_are_404_and_never_recorded(stack: Stack) -> None:
    stack.sim.clear()
    bogus = ("gpt-4", f"{NAME} SSN {SSN}")
    for model in bogus:
        with pytest.raises(openai.NotFoundError) as info:
            stack.client().chat.completions.create(model=model, messages=_messages())
        assert info.value.code == "model_not_found"
        assert info.value.body["param"] == "model"  # type: ignore[index]
        assert not [v for v in (*VALUES, "gpt-4") if v in info.value.response.text]
        with pytest.raises(openai.NotFoundError):
            stack.client().completions.create(model=model, prompt="hello")
    assert stack.sim.requests() == []
    models = stack.audit_models()
    assert not {m for m in models if m and (m in bogus or SSN in m)}, models
    # Nor anywhere else the gateway writes: database (and its WAL), key ring, checkpoints, log.
    for path in [p for p in stack.gw.data_dir.rglob("*") if p.is_file()] + [stack.gw.log_path]:
        data = path.read_bytes()
        assert SSN.encode() not in data and NAME.encode() not in data, path.name


def test_a_site_alias_reaches_the_engine_as_the_served_name(stack: Stack) -> None:
    stack.sim.clear()
    answer = stack.client().chat.completions.create(model=ALIAS, messages=_messages())
    assert answer.choices[0].message.content == "hello"
    (body,) = stack.sim.requests()
    assert body["model"] == MODEL
    assert ALIAS in stack.audit_models()
    listed = [m.id for m in stack.client().models.list()]
    assert listed == [MODEL, ALIAS]


def test_a_key_limited_to_other_models_is_told_the_model_is_not_allowed(stack: Stack) -> None:
    stack.sim.clear()
    with pytest.raises(openai.PermissionDeniedError) as info:
        stack.client(stack.served_only).chat.completions.create(model=ALIAS, messages=_messages())
    assert info.value.code == "model_not_allowed"
    assert stack.sim.requests() == []
    assert stack.client(stack.served_only).chat.completions.create(model=MODEL, messages=_messages())
    assert [m.id for m in stack.client(stack.served_only).models.list()] == [MODEL]
