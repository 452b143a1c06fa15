"""OpenAI answer shapes: the text fields of a choice, blanking a blocked answer, SSE framing,
the frames that end a blocked stream. Plain functions over decoded JSON, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine.errors import EngineBadResponse
from gateway.pipeline.context import CHAT, Route

CONTENT_FILTER_NOTICE = "[This answer was stopped by the content policy.]"
SSE_DONE = b"data: [DONE]\n\n"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

TextField = tuple[str, Callable[[str], None]]


def sse(payload: dict[str, Any]) -> bytes:
    """One server-sent event carrying ``payload`` as JSON."""
    return b"data: " + _encode(payload) + b"\n\n"


def decode_chunk(data: bytes) -> dict[str, Any] | None:
    """An upstream event's JSON object; None for anything else (skipped, never forwarded raw)."""
    try:
        chunk = _decode(data)
    except msgspec.DecodeError:
        return None
    return chunk if isinstance(chunk, dict) else None


def is_engine_error(chunk: dict[str, Any]) -> bool:
    """An error event from the worker in place of a chunk."""
    return "error" in chunk and "choices" not in chunk


def drop_logprobs(body: dict[str, Any]) -> None:
    """Log-probabilities list the model's tokens one by one, outside the output filter's reach
    (restored values and leaked identifiers would reappear there): they are not passed on."""
    for choice in body.get("choices") or ():
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None


def blank_choice(choice: dict[str, Any]) -> None:
    """Replace a whole (non-streaming) choice's answer with the content-filter notice."""
    message = choice.get("message")
    if isinstance(message, dict):
        message["content"] = CONTENT_FILTER_NOTICE
        message["reasoning_content"] = None
        message["tool_calls"] = None
    elif "text" in choice:
        choice["text"] = CONTENT_FILTER_NOTICE


def text_fields(choice: dict[str, Any], *, streaming: bool) -> dict[str, TextField]:
    """Every text field of a choice the filter must see (by channel name), with a setter for the
    filtered text. Non-streaming choices carry ``message``, streamed ones ``delta``.

    A field that is present but not text raises EngineBadResponse: text the filter cannot read
    is never passed on.
    """
    targets: dict[str, TextField] = {}

    def put(container: dict[str, Any], key: str, name: str) -> None:
        value = container.get(key)
        if value is not None and not isinstance(value, str):
            raise EngineBadResponse(f"engine answer field {key} is not text")
        if isinstance(value, str) and (value or not streaming):
            targets[name] = (value, lambda new: container.__setitem__(key, new))

    put(choice, "text", "text")
    body = choice.get("delta" if streaming else "message")
    if isinstance(body, dict):
        put(body, "content", "content")
        put(body, "reasoning_content", "reasoning_content")
        for position, call in enumerate(body.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                # Streamed tool-call deltas name their call by "index"; whole answers by position.
                index = call.get("index", 0) if streaming else position
                put(function, "arguments", f"tool_calls.{index}.arguments")
    return targets


def opens_tool_call(delta: dict[str, Any]) -> bool:
    """The chunk that starts a streamed tool call carries its id, type and function name."""
    for call in delta.get("tool_calls") or ():
        if isinstance(call, dict) and (
            call.get("id") or call.get("type") or (call.get("function") or {}).get("name")
        ):
            return True
    return False


def must_forward(choice: dict[str, Any]) -> bool:
    """A streamed choice that is sent even with no text released: it opens the message (role), a
    tool call, or carries logprobs (already blanked)."""
    delta = choice.get("delta")
    if isinstance(delta, dict) and ("role" in delta or opens_tool_call(delta)):
        return True
    return bool(choice.get("logprobs"))


def append_channel_text(choice: dict[str, Any], name: str, text: str) -> None:
    """Add held-back ``text`` of channel ``name`` to a streamed choice (its finish chunk)."""
    if name == "text":
        choice["text"] = (choice.get("text") or "") + text
        return
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        delta = choice["delta"] = {}
    if name.startswith("tool_calls."):
        position = int(name.split(".")[1])
        delta.setdefault("tool_calls", []).append({"index": position, "function": {"arguments": text}})
    else:
        delta[name] = (delta.get(name) or "") + text


def blocked_frames(route: Route, template: dict[str, Any], model: str) -> list[bytes]:
    """A well-formed end for a blocked stream: a final chunk with finish_reason content_filter.

    ``template`` holds the stream's id/object/created/model as the engine sent them (empty when
    nothing came); ``model`` is the name the caller used, for when it is empty.
    """
    base = dict(template) or {"object": route.chunk_object, "model": model}
    notice: dict[str, Any] = (
        {"delta": {"content": CONTENT_FILTER_NOTICE}} if route is CHAT else {"text": CONTENT_FILTER_NOTICE}
    )
    choice = {"index": 0, **notice, "finish_reason": "content_filter", "logprobs": None}
    return [sse({**base, "choices": [choice]})]
