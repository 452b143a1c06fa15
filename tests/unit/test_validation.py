"""Request bodies are decoded and type-checked once; every failure is a 400 without content."""

from __future__ import annotations

import pytest

from gateway.errors import InvalidRequest
from gateway.validation import check_chat_request, check_completion_request, decode_json_object


def test_valid_chat_body_keeps_unknown_fields() -> None:
    body = decode_json_object(
        b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_k": 3}', 64
    )
    view = check_chat_request(body)
    assert view.model == "m" and body["top_k"] == 3


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[]", b'"str"', b"\xff", b"[" * 5000 + b"]" * 5000, b'{"a":' * 70 + b"1" + b"}" * 70],
)
def test_undecodable_bodies_are_invalid_requests(raw: bytes) -> None:
    with pytest.raises(InvalidRequest):
        decode_json_object(raw, 64)


def test_type_errors_name_the_field_but_not_the_value() -> None:
    secret = "Jane Roe 415-555-0199"
    with pytest.raises(InvalidRequest) as info:
        check_chat_request({"model": "m", "messages": [{"role": secret, "content": "x"}]})
    assert "messages[0].role" in str(info.value)
    assert secret not in str(info.value)


def test_completion_prompt_must_be_text() -> None:
    with pytest.raises(InvalidRequest):
        check_completion_request({"model": "m", "prompt": [1, 2, 3]})
    assert check_completion_request({"model": "m", "prompt": ["a", "b"]}).prompt == ["a", "b"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tool_choice": "card 4111111111111111"}, "tool_choice"),
        ({"tool_choice": {"type": "SSN 536-22-1234", "function": {"name": "f"}}}, "tool_choice.type"),
        ({"tool_choice": 4111111111111111}, "tool_choice"),
        ({"tools": [{"type": "SSN 536-22-1234", "function": {"name": "f"}}]}, "tools[0].type"),
        ({"response_format": {"type": "card 4111111111111111"}}, "response_format.type"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"type": "SSN 536-22-1234"}]}]},
            "messages[0].tool_calls[0].type",
        ),
    ],
)
def test_protocol_words_outside_their_vocabulary_are_400_naming_the_field(extra: dict, param: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_chat_request({"model": "m", "messages": [{"role": "user", "content": "x"}], **extra})
    assert info.value.param == param and param in str(info.value)
    assert "4111" not in str(info.value) and "536-22" not in str(info.value)


def test_completion_response_format_type_is_checked() -> None:
    with pytest.raises(InvalidRequest) as info:
        check_completion_request(
            {"model": "m", "prompt": "x", "response_format": {"type": "SSN 536-22-1234"}}
        )
    assert info.value.param == "response_format.type"


@pytest.mark.parametrize(
    "extra",
    [
        {"tool_choice": "auto"},
        {"tool_choice": "none"},
        {"tool_choice": "required"},
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
        {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": None},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
        {"response_format": {"type": "structural_tag", "structures": [], "triggers": []}},
    ],
)
def test_ordinary_protocol_words_are_accepted(extra: dict) -> None:
    check_chat_request({"model": "m", "messages": [{"role": "user", "content": "x"}], **extra})


def test_vocabularies_match_what_redaction_leaves_unscanned() -> None:
    """The words the scanner skips are exactly the words validation lets through."""
    from typing import get_args

    from gateway import validation
    from policies.pii import redact_body

    assert set(get_args(validation.Role)) == redact_body.MESSAGE_ROLES
    assert set(get_args(validation.ToolType)) == redact_body.TOOL_TYPES
    assert set(get_args(validation.ToolChoiceWord)) == redact_body.TOOL_CHOICE_WORDS
    assert set(get_args(validation.ResponseFormatType)) == redact_body.RESPONSE_FORMAT_TYPES
