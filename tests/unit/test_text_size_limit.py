"""Text over ``pii.max_text_chars`` is refused with 413, in the OpenAI error shape, before detection.

The count is over every string of the body, object keys included, wherever it sits: detection
scans all of them, so splitting text over fields or messages does not get more of it scanned.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from gateway.errors import to_response
from gateway.validation import check_text_size


def _chat(*contents: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": c} for c in contents], **extra}


def _text_chars(body: Any) -> int:
    """The characters ``check_text_size`` counts, the straightforward way."""
    if isinstance(body, str):
        return len(body)
    if isinstance(body, dict):
        return sum(len(k) + _text_chars(v) for k, v in body.items())
    if isinstance(body, list):
        return sum(_text_chars(v) for v in body)
    return 0


def test_a_body_within_the_limit_passes() -> None:
    body = _chat("hello " * 100)
    check_text_size(body, _text_chars(body))


@pytest.mark.parametrize(
    "body",
    [
        _chat("x" * 1000),
        _chat("x" * 400, "y" * 400, "z" * 400),  # split over messages
        _chat("hi", tools=[{"type": "function", "function": {"name": "f", "description": "d" * 1000}}]),
        _chat("hi", stop=["s" * 500, "t" * 500]),  # fields that are only checked, not rewritten
        _chat("hi", metadata={"k" * 1000: 1}),  # object keys are scanned too
    ],
)
def test_text_over_the_limit_anywhere_in_the_body_is_413_in_the_openai_shape(body: dict[str, Any]) -> None:
    with pytest.raises(RequestEntityTooLarge) as info:
        check_text_size(body, 999)
    response = to_response(info.value)
    assert response.status_code == 413
    error = response.content["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "request_too_large"
    assert "999 characters" in error["message"]
    assert "x" * 20 not in error["message"]


def test_numbers_and_literals_do_not_count() -> None:
    body = {"model": "m", "max_tokens": 10**30, "stream": True, "seed": None}
    check_text_size(body, _text_chars(body))
    assert _text_chars(body) == len("model") + len("m") + len("max_tokens") + len("stream") + len("seed")
