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
