"""Validation of chat and completions bodies: the parts of a request the simulator acts on.

Errors are 400s naming the field, as SGLang's are; they never quote the field's value.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.simulator.answers import tokenize
from engine.simulator.errors import bad_request


@dataclass(frozen=True)
class Generation:
    """The validated parts of a chat or completions request the simulator acts on."""

    model: str
    request_id: str
    echo_text: str
    prompt_tokens: int
    stream: bool
    include_usage: bool
    max_tokens: int | None
    stop: tuple[str, ...]


_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def _optional(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise bad_request(f"'{key}' must be {what}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _common(
    body: dict[str, Any], default_model: str, prefix: str, max_tokens_keys: Sequence[str]
) -> dict[str, Any]:
    model = _optional(body, "model", str, "a string") or default_model
    stream = bool(_optional(body, "stream", bool, "a boolean"))
    options = _optional(body, "stream_options", dict, "an object") or {}
    include_usage = options.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise bad_request("'stream_options.include_usage' must be a boolean")
    max_tokens = None
    for key in max_tokens_keys:
        value = _optional(body, key, int, "an integer")
        if value is not None:
            if value < 0:
                raise bad_request(f"'{key}' must not be negative")
            max_tokens = value
    stop = body.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = tuple(stop)
    else:
        raise bad_request("'stop' must be a string or a list of strings")
    n = _optional(body, "n", int, "an integer")
    if n is not None and n != 1:
        raise bad_request("the simulator supports n=1 only")
    rid = body.get("rid")
    request_id = rid if isinstance(rid, str) and rid else f"{prefix}-{uuid.uuid4().hex}"
    return {
        "model": model,
        "request_id": request_id,
        "stream": stream,
        "include_usage": bool(stream and include_usage),
        "max_tokens": max_tokens,
        "stop": stops,
    }


def _message_text(message: Any, index: int) -> tuple[str, str]:
    if not isinstance(message, dict):
        raise bad_request(f"messages[{index}] must be an object")
    role = message.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise bad_request(f"messages[{index}].role must be one of {sorted(_ROLES)}")
    content = message.get("content")
    if content is None or isinstance(content, str):
        return role, content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise bad_request(f"messages[{index}].content parts must be objects with a 'type'")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise bad_request(f"messages[{index}].content text parts need a string 'text'")
                parts.append(part["text"])
        return role, "".join(parts)
    raise bad_request(f"messages[{index}].content must be a string, a list of parts or null")


def parse_chat(body: dict[str, Any], default_model: str) -> Generation:
    """Validate a /v1/chat/completions body; raises a 400 ``SimHTTPError`` naming the bad field."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list")
    texts = [_message_text(m, i) for i, m in enumerate(messages)]
    echo = next((text for role, text in reversed(texts) if role == "user"), "")
    prompt_tokens = sum(len(tokenize(text)) for _, text in texts)
    common = _common(body, default_model, "chatcmpl", ("max_tokens", "max_completion_tokens"))
    return Generation(echo_text=echo, prompt_tokens=prompt_tokens, **common)


def parse_completion(body: dict[str, Any], default_model: str) -> Generation:
    """Validate a /v1/completions body (prompt: a string, a list of strings, or token ids)."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompts = list(prompt)
    elif isinstance(prompt, list) and prompt and all(_is_int(t) for t in prompt):
        prompts = [" ".join(str(t) for t in prompt)]
    elif (
        isinstance(prompt, list)
        and prompt
        and all(isinstance(p, list) and p and all(_is_int(t) for t in p) for p in prompt)
    ):
        prompts = [" ".join(str(t) for t in p) for p in prompt]
    else:
        raise bad_request("'prompt' must be a string, a non-empty list of strings, or token ids")
    common = _common(body, default_model, "cmpl", ("max_tokens",))
    return Generation(echo_text=prompts[0], prompt_tokens=sum(len(tokenize(p)) for p in prompts), **common)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
