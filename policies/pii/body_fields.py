"""The text fields of an OpenAI-style request body that may be rewritten, and the protocol words
checked against their closed vocabularies instead of being scanned.

Collecting copies the body (the caller's stays untouched) and notes where each rewritable text
is; a value of a type the protocol does not allow there is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.errors import PolicyViolation

# Closed vocabularies: the only strings forwarded without being scanned, each at its exact place
# (SGLang's OpenAI protocol). A value there that is not in its vocabulary is refused.
MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
CONTENT_PART_TYPES = frozenset({"text"})  # images, audio, files cannot be scanned
TOOL_TYPES = frozenset({"function"})  # tools[i].type, messages[i].tool_calls[j].type, tool_choice.type
TOOL_CHOICE_WORDS = frozenset({"none", "auto", "required"})
RESPONSE_FORMAT_TYPES = frozenset({"text", "json_object", "json_schema", "structural_tag"})


@dataclass
class TextSlot:
    """One text field of the copied body: ``container[key]`` holds the text."""

    container: Any
    key: Any
    text: str
    group: int


@dataclass
class CollectedBody:
    """The copied body, its rewritable text fields, and the protocol words already checked."""

    body: dict[str, Any]
    slots: list[TextSlot]
    words: set[tuple[int, Any]] = field(default_factory=set)  # (id(container), key)


def invalid_content(where: str) -> PolicyViolation:
    return PolicyViolation(
        f"unsupported value type in {where}", code="invalid_content", details={"field": where}
    )


def _check_word(
    collected: CollectedBody,
    container: dict[str, Any],
    key: str,
    vocabulary: Collection[str],
    where: str,
    *,
    list_words: bool = True,
) -> None:
    """``container[key]`` is absent, null, or a word of ``vocabulary`` (then it is not scanned)."""
    value = container.get(key)
    if value is None:
        return
    if not isinstance(value, str) or value not in vocabulary:
        allowed = f" must be one of: {', '.join(sorted(vocabulary))}" if list_words else " is not known"
        raise PolicyViolation(f"{where}{allowed}", code="invalid_content", details={"field": where})
    collected.words.add((id(container), key))


def _unscannable(where: str) -> PolicyViolation:
    return PolicyViolation(
        "only text can be scanned for personal data", code="unscannable_content", details={"field": where}
    )


def _collect_common(collected: CollectedBody, models: Collection[str] | None) -> None:
    """The protocol words both routes share: ``model`` (when validated) and ``response_format``."""
    out = collected.body
    if models is not None:
        if out.get("model") is None:
            raise invalid_content("model")
        _check_word(collected, out, "model", models, "model", list_words=False)
    response_format = out.get("response_format")
    if isinstance(response_format, Mapping):
        out["response_format"] = response_format = dict(response_format)
        _check_word(collected, response_format, "type", RESPONSE_FORMAT_TYPES, "response_format.type")
    elif response_format is not None:
        raise invalid_content("response_format")


def collect_chat(body: Mapping[str, Any], models: Collection[str] | None = None) -> CollectedBody:
    if not isinstance(body, Mapping):
        raise invalid_content("body")
    collected = CollectedBody(dict(body), [])
    out, slots = collected.body, collected.slots
    _collect_common(collected, models)
    if out.get("input_ids") is not None:
        # Token ids replace the chat template's prompt and cannot be scanned: refuse them.
        raise _unscannable("input_ids")
    _collect_tool_choice(collected)
    messages = body.get("messages")
    if messages is None:
        return collected
    if not isinstance(messages, list):
        raise invalid_content("messages")
    new_messages: list[Any] = []
    for group, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise invalid_content(f"messages[{group}]")
        copy = dict(message)
        new_messages.append(copy)
        _check_word(collected, copy, "role", MESSAGE_ROLES, f"messages[{group}].role")
        for key in ("name", "reasoning_content"):
            _add_text(slots, copy, key, group, f"messages[{group}].{key}")
        content = copy.get("content")
        if isinstance(content, str):
            slots.append(TextSlot(copy, "content", content, group))
        elif isinstance(content, list):
            parts: list[Any] = []
            for index, part in enumerate(content):
                where = f"messages[{group}].content[{index}]"
                if isinstance(part, str):
                    parts.append(part)
                    slots.append(TextSlot(parts, index, part, group))
                    continue
                if not isinstance(part, Mapping):
                    raise invalid_content(where)
                part_copy = dict(part)
                parts.append(part_copy)
                part_type = part_copy.get("type", "text")
                if not isinstance(part_type, str) or part_type not in CONTENT_PART_TYPES:
                    # Images, audio and files cannot be scanned for personal data: refuse them.
                    raise _unscannable(where)
                _check_word(collected, part_copy, "type", CONTENT_PART_TYPES, f"{where}.type")
                _add_text(slots, part_copy, "text", group, f"{where}.text")
            copy["content"] = parts
        elif content is not None:
            raise invalid_content(f"messages[{group}].content")
        tool_calls = copy.get("tool_calls")
        if tool_calls is not None:
            copy["tool_calls"] = _collect_tool_calls(tool_calls, collected, group)
    out["messages"] = new_messages
    # Tool definitions come before the conversation in chat templates: number their values first.
    tool_slots: list[TextSlot] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise invalid_content("tools")
        out["tools"] = _collect_descriptions(tools, tool_slots, "tools")
        for index, tool in enumerate(out["tools"]):
            if not isinstance(tool, dict):
                raise invalid_content(f"tools[{index}]")
            _check_word(collected, tool, "type", TOOL_TYPES, f"tools[{index}].type")
    _add_text(slots, out, "user", len(messages), "user")
    collected.slots = tool_slots + slots
    return collected


def _collect_tool_choice(collected: CollectedBody) -> None:
    """``tool_choice``: "none" | "auto" | "required" | {"type": "function", "function": {...}}."""
    out = collected.body
    choice = out.get("tool_choice")
    if isinstance(choice, Mapping):
        out["tool_choice"] = choice = dict(choice)
        _check_word(collected, choice, "type", TOOL_TYPES, "tool_choice.type")
    else:
        _check_word(collected, out, "tool_choice", TOOL_CHOICE_WORDS, "tool_choice")


_DESCRIBING_KEYS = frozenset({"description", "title"})


def _collect_descriptions(value: Any, slots: list[TextSlot], where: str) -> Any:
    """Copy a tool definition, registering every description/title string (JSON schemas nest them)."""
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if key in _DESCRIBING_KEYS and isinstance(item, str):
                copy[key] = item
                slots.append(TextSlot(copy, key, item, -1))
            else:
                copy[key] = _collect_descriptions(item, slots, f"{where}.{key}")
        return copy
    if isinstance(value, list):
        return [_collect_descriptions(item, slots, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def _collect_tool_calls(tool_calls: Any, collected: CollectedBody, group: int) -> list[Any]:
    if not isinstance(tool_calls, list):
        raise invalid_content(f"messages[{group}].tool_calls")
    slots = collected.slots
    calls: list[Any] = []
    for index, call in enumerate(tool_calls):
        if not isinstance(call, Mapping):
            raise invalid_content(f"messages[{group}].tool_calls[{index}]")
        call_copy = dict(call)
        calls.append(call_copy)
        _check_word(collected, call_copy, "type", TOOL_TYPES, f"messages[{group}].tool_calls[{index}].type")
        function = call_copy.get("function")
        if function is None:
            continue
        if not isinstance(function, Mapping):
            raise invalid_content(f"messages[{group}].tool_calls[{index}].function")
        function_copy = dict(function)
        call_copy["function"] = function_copy
        arguments = function_copy.get("arguments")
        if isinstance(arguments, str):
            arguments = _unescape_json(arguments)
            function_copy["arguments"] = arguments
        _add_text(
            slots, function_copy, "arguments", group, f"messages[{group}].tool_calls[{index}].arguments"
        )
    return calls


_JSON_ESCAPE_RE = re.compile(r"\\u[0-9a-fA-F]{4}")


def _unescape_json(arguments: str) -> str:
    """Rewrite \\uXXXX escapes as characters so escaped text cannot hide from detection."""
    if not _JSON_ESCAPE_RE.search(arguments):
        return arguments
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    return json.dumps(parsed, ensure_ascii=False)


def _add_text(slots: list[TextSlot], container: dict[str, Any], key: str, group: int, where: str) -> None:
    value = container.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise invalid_content(where)
    slots.append(TextSlot(container, key, value, group))


def collect_completion(body: Mapping[str, Any], models: Collection[str] | None = None) -> CollectedBody:
    if not isinstance(body, Mapping):
        raise invalid_content("body")
    collected = CollectedBody(dict(body), [])
    out, slots = collected.body, collected.slots
    _collect_common(collected, models)
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        slots.append(TextSlot(out, "prompt", prompt, 0))
    elif isinstance(prompt, list):
        prompts: list[Any] = list(prompt)
        for index, item in enumerate(prompts):
            if not isinstance(item, str):
                # Token ids cannot be scanned for personal data: refuse rather than pass.
                raise invalid_content(f"prompt[{index}]")
            slots.append(TextSlot(prompts, index, item, index))
        out["prompt"] = prompts
    elif prompt is not None:
        raise invalid_content("prompt")
    _add_text(slots, out, "suffix", len(slots), "suffix")
    return collected
