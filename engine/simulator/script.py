"""Scripted answers for the SGLang simulator (``engine.simulator``, ``--mode script``).

A script is a JSON list; each element is one answer, served in order to successive generation
requests (chat and completions share the cursor), starting again from the first when exhausted.
An answer is one of:

``["Hel", "lo", " world"]``
    Content chunks. Each string is exactly one streamed chunk (one "token"); a non-streaming
    answer joins them.
``"Hello world"``
    Shorthand for a single chunk.
``{"reasoning": [...], "content": [...], "tool_call": {...}, "abort_after": N}``
    ``reasoning`` chunks stream as ``delta.reasoning_content`` before the content chunks (and
    become ``message.reasoning_content`` when not streaming). ``tool_call`` is
    ``{"name": "get_weather", "arguments_chunks": ["{\\"city\\": ", "\\"Paris\\"}"]}``: after the
    content, one ``delta.tool_calls`` chunk opens the call (id, type, name, empty arguments) and
    each arguments chunk follows as its own delta; finish_reason becomes ``"tool_calls"``.
    ``abort_after`` (streaming only) drops the connection after that many chunks (not counting
    chat's opening role chunk), before the finish chunk and ``[DONE]`` at the latest, like a
    worker that dies mid-answer. Completions use the content chunks only.
``{"error": {"status": 503, "message": "overloaded"}}``
    The request is refused with that status in SGLang's error shape (``message`` optional).

Errors name the answer's index and the problem, never the script's text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ScriptError(ValueError):
    """The script file is missing, not JSON, or not in the documented format."""


@dataclass(frozen=True)
class ScriptedToolCall:
    """A scripted tool call: the function's name and its arguments, chunk by chunk."""

    name: str
    arguments_chunks: tuple[str, ...]


@dataclass(frozen=True)
class ScriptedError:
    """A scripted refusal: the HTTP status and the message of SGLang's error body."""

    status: int
    message: str


@dataclass(frozen=True)
class ScriptedAnswer:
    """One answer of a script: its chunks, or the error that refuses the request."""

    content: tuple[str, ...] = ()
    reasoning: tuple[str, ...] = ()
    tool_call: ScriptedToolCall | None = None
    abort_after: int | None = None
    error: ScriptedError | None = None


def load_script(path: str | Path) -> tuple[ScriptedAnswer, ...]:
    """Read and validate a script file; raises ``ScriptError`` naming the file and the problem."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read script file {path}: {type(exc).__name__}") from None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ScriptError(f"script file {path} is not valid JSON ({type(exc).__name__})") from None
    try:
        return parse_script(data)
    except ScriptError as exc:
        raise ScriptError(f"script file {path}: {exc}") from None


def parse_script(data: Any) -> tuple[ScriptedAnswer, ...]:
    """Validate decoded script JSON (a non-empty list of answers) into ``ScriptedAnswer`` values."""
    if not isinstance(data, list) or not data:
        raise ScriptError("a script must be a non-empty JSON list of answers")
    return tuple(_parse_answer(item, index) for index, item in enumerate(data))


def _parse_answer(item: Any, index: int) -> ScriptedAnswer:
    if isinstance(item, str):
        return ScriptedAnswer(content=(item,))
    if isinstance(item, list):
        return ScriptedAnswer(content=_chunks(item, index, "chunks"))
    if not isinstance(item, dict):
        raise ScriptError(f"answer {index} must be a list of chunks, a string or an object")
    unknown = set(item) - {"content", "reasoning", "tool_call", "abort_after", "error"}
    if unknown:
        raise ScriptError(f"answer {index} has unknown keys {sorted(unknown)}")
    if "error" in item:
        return ScriptedAnswer(error=_parse_error(item["error"], index))
    tool_call = None
    if item.get("tool_call") is not None:
        tool_call = _parse_tool_call(item["tool_call"], index)
    abort_after = item.get("abort_after")
    if abort_after is not None and (
        not isinstance(abort_after, int) or isinstance(abort_after, bool) or abort_after < 0
    ):
        raise ScriptError(f"answer {index}: abort_after must be a non-negative integer")
    return ScriptedAnswer(
        content=_chunks(item.get("content", []), index, "content"),
        reasoning=_chunks(item.get("reasoning", []), index, "reasoning"),
        tool_call=tool_call,
        abort_after=abort_after,
    )


def _parse_tool_call(value: Any, index: int) -> ScriptedToolCall:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        raise ScriptError(f"answer {index}: tool_call needs a non-empty string 'name'")
    arguments = _chunks(value.get("arguments_chunks", []), index, "arguments_chunks")
    return ScriptedToolCall(value["name"], arguments)


def _parse_error(value: Any, index: int) -> ScriptedError:
    if not isinstance(value, dict):
        raise ScriptError(f"answer {index}: error must be an object")
    status = value.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise ScriptError(f"answer {index}: error.status must be an HTTP error status (400-599)")
    message = value.get("message", "Scripted error.")
    if not isinstance(message, str):
        raise ScriptError(f"answer {index}: error.message must be a string")
    return ScriptedError(status, message)


def _chunks(value: Any, index: int, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ScriptError(f"answer {index}: {name} must be a list of strings")
    return tuple(value)
