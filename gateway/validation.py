"""Decode and type-check OpenAI request bodies at the edge, once.

The decoded dict is what gets forwarded (after redaction), so SGLang-specific fields the
gateway does not know (``top_k``, ``regex``, ``chat_template_kwargs``, ...) pass through
untouched; the typed views below only check the fields the gateway relies on.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from gateway.errors import InvalidRequest

_decoder = msgspec.json.Decoder()
_QUOTED = re.compile(r"\s*('[^']*'|\"[^\"]*\")")


# Closed vocabularies (SGLang's OpenAI protocol). These words are forwarded without being scanned
# for personal data (policies.pii.redact_body has the same sets), so nothing else may stand there.
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
ToolType = Literal["function"]
ToolChoiceWord = Literal["none", "auto", "required"]
ResponseFormatType = Literal["text", "json_object", "json_schema", "structural_tag"]


class _Part(msgspec.Struct, frozen=True):
    type: str  # anything but "text" is refused later: it cannot be scanned
    text: str | None = None


class _Function(msgspec.Struct, frozen=True):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct, frozen=True):
    function: _Function | None = None
    id: str | None = None
    type: ToolType | None = None


class _Message(msgspec.Struct, frozen=True):
    role: Role
    content: str | list[_Part] | None = None
    name: str | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


class _StreamOptions(msgspec.Struct, frozen=True):
    include_usage: bool | None = None


class _Tool(msgspec.Struct, frozen=True):
    type: ToolType | None = None


class _ToolChoice(msgspec.Struct, frozen=True):
    type: ToolType | None = None


class _ResponseFormat(msgspec.Struct, frozen=True):
    type: ResponseFormatType | None = None


class ChatRequestView(msgspec.Struct, frozen=True):
    model: str
    messages: list[_Message]
    stream: bool | None = False
    stream_options: _StreamOptions | None = None
    n: int | None = 1
    tools: list[_Tool] | None = None
    tool_choice: ToolChoiceWord | _ToolChoice | None = None
    response_format: _ResponseFormat | None = None


class CompletionRequestView(msgspec.Struct, frozen=True):
    model: str
    prompt: str | list[str]
    stream: bool | None = False
    stream_options: _StreamOptions | None = None
    n: int | None = 1
    response_format: _ResponseFormat | None = None


def decode_json_object(raw: bytes, max_depth: int) -> dict[str, Any]:
    """Decode a JSON object body; every failure is a 400 that names the problem, not the content."""
    if not raw:
        raise InvalidRequest("The request body is empty; a JSON object is required.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.", code="invalid_encoding") from None
    try:
        data = _decoder.decode(raw)
    except RecursionError:
        raise InvalidRequest("The JSON body is nested too deeply.", code="too_deep") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(
            f"The request body is not valid JSON ({_position(exc)}).", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if _depth_exceeds(data, max_depth):
        raise InvalidRequest(f"The JSON body is nested deeper than {max_depth} levels.", code="too_deep")
    return data


def _position(exc: msgspec.DecodeError) -> str:
    message = str(exc)
    # msgspec: "JSON is malformed: invalid character (byte 12)". Keep only the byte offset.
    if "(byte " in message:
        return "byte " + message.rsplit("(byte ", 1)[1].rstrip(")")
    return "malformed"


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def describe_validation_error(exc: msgspec.ValidationError) -> tuple[str, str | None]:
    """(reason, dotted field) of a msgspec validation error, without the offending value."""
    reason, _, where = str(exc).partition(" - at `$")
    # msgspec quotes offending values ("Invalid enum value 'x'", unknown field names); they may be
    # personal data. Keep only the kind of problem.
    if "unknown field" in reason:
        reason = "Object contains an unknown field"
    elif " value" in reason and not reason.startswith("Expected"):
        reason = reason[: reason.index(" value") + len(" value")]
    reason = _QUOTED.sub("", reason).strip()
    return reason, where.rstrip("`").lstrip(".") or None


def convert_or_400(data: Any, view: type[Any], *, strict: bool = True) -> Any:
    """``msgspec.convert`` that raises InvalidRequest naming the field (never its value)."""
    try:
        return msgspec.convert(data, view, strict=strict)
    except msgspec.ValidationError as exc:
        reason, param = describe_validation_error(exc)
        raise InvalidRequest(
            f"Invalid request: {reason}" + (f" at '{param}'" if param else "") + ".", param=param
        ) from None


def _check_model(model: str) -> None:
    if not 0 < len(model) <= 256 or not model.isprintable():
        raise InvalidRequest("'model' must be 1 to 256 printable characters.", param="model")


def check_chat_request(data: dict[str, Any]) -> ChatRequestView:
    view: ChatRequestView = convert_or_400(data, ChatRequestView)
    _check_model(view.model)
    if not view.messages:
        raise InvalidRequest("'messages' must contain at least one message.", param="messages")
    if view.n is not None and not 1 <= view.n <= 16:
        raise InvalidRequest("'n' must be between 1 and 16.", param="n")
    return view


def check_completion_request(data: dict[str, Any]) -> CompletionRequestView:
    view: CompletionRequestView = convert_or_400(data, CompletionRequestView)
    _check_model(view.model)
    if view.n is not None and not 1 <= view.n <= 16:
        raise InvalidRequest("'n' must be between 1 and 16.", param="n")
    return view


def check_text_size(body: dict[str, Any], max_chars: int) -> int:
    """The characters in the strings of ``body``, object keys included; 413 (Litestar's
    RequestEntityTooLarge, mapped like an oversized body) when they are more than ``max_chars``:
    all of them are scanned for personal data, and detection time grows with their length."""
    total = 0
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(len(key) for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        if total > max_chars:
            raise RequestEntityTooLarge(
                detail=f"The request holds more than {max_chars} characters of text; "
                "send less text per request."
            )
    return total
