"""Scan and rewrite every text field of an OpenAI-style request body the model would see."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from policies.errors import DetectionUnavailable, PolicyError, PolicyViolation
from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.config import Action, PIIProfile
from policies.pii.offload import DetectionPool
from policies.pii.pseudonymize import (
    TOKEN_RE,
    ActionTally,
    Pseudonymizer,
    apply_actions,
    is_min_length,
    known_values,
    propagate_known_values,
    select_findings,
)

RedactResult = tuple[dict[str, Any], "PseudonymMap", "RedactionReport"]
T = TypeVar("T")


@dataclass
class PseudonymMap:
    """Token -> original value for one request; lives only in memory, never in logs."""

    token_to_value: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PseudonymMap(<{len(self.token_to_value)} tokens>)"

    __str__ = __repr__

    def restore(self, text: str) -> str:
        """Put the original values back in place of this request's tokens."""
        if not self.token_to_value:
            return text
        return TOKEN_RE.sub(lambda m: self.token_to_value.get(m.group(0), m.group(0)), text)


@dataclass(frozen=True)
class RedactionReport:
    """What was found and done, as counts only (safe for audit records and metrics)."""

    entity_counts: Mapping[str, int]
    actions: Mapping[str, int]
    fields_scanned: int
    texts_changed: int


@dataclass
class _Slot:
    """One text field of the copied body: ``container[key]`` holds the text."""

    container: Any
    key: Any
    text: str
    group: int


def redact_chat_body(body: Mapping[str, Any], detector: PIIDetector, profile: PIIProfile) -> RedactResult:
    """Rewrite a /v1/chat/completions body; everything but message text passes through.

    Raises PolicyViolation (pii_blocked, invalid_content) or DetectionUnavailable.
    """
    return _fail_closed(lambda: _redact(_collect_chat(body), detector, profile))


def redact_completion_body(
    body: Mapping[str, Any], detector: PIIDetector, profile: PIIProfile
) -> RedactResult:
    """Rewrite a /v1/completions body (``prompt`` as str or list of str, and ``suffix``)."""
    return _fail_closed(lambda: _redact(_collect_completion(body), detector, profile))


async def aredact_chat_body(
    body: Mapping[str, Any], detector: PIIDetector, profile: PIIProfile, pool: DetectionPool
) -> RedactResult:
    """``redact_chat_body`` in ``pool``; a timeout raises DetectionUnavailable."""
    return await _in_pool(partial(redact_chat_body, body, detector, profile), pool)


async def aredact_completion_body(
    body: Mapping[str, Any], detector: PIIDetector, profile: PIIProfile, pool: DetectionPool
) -> RedactResult:
    """``redact_completion_body`` in ``pool``; a timeout raises DetectionUnavailable."""
    return await _in_pool(partial(redact_completion_body, body, detector, profile), pool)


async def _in_pool(work: Callable[[], T], pool: DetectionPool) -> T:
    try:
        return await pool.run(work)
    except (PolicyError, DetectionUnavailable):
        raise
    except Exception as exc:
        raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None


def _fail_closed(work: Callable[[], T]) -> T:
    try:
        return work()
    except PolicyError:
        raise
    except Exception as exc:
        # Nothing unscanned may go out: any failure refuses the request.
        raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None


def _invalid(where: str) -> PolicyViolation:
    return PolicyViolation(
        f"unsupported value type in {where}", code="invalid_content", details={"field": where}
    )


def _collect_chat(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[_Slot]]:
    if not isinstance(body, Mapping):
        raise _invalid("body")
    out = dict(body)
    slots: list[_Slot] = []
    messages = body.get("messages")
    if messages is None:
        return out, slots
    if not isinstance(messages, list):
        raise _invalid("messages")
    new_messages: list[Any] = []
    for group, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise _invalid(f"messages[{group}]")
        copy = dict(message)
        new_messages.append(copy)
        for key in ("name", "reasoning_content"):
            _add_text(slots, copy, key, group, f"messages[{group}].{key}")
        content = copy.get("content")
        if isinstance(content, str):
            slots.append(_Slot(copy, "content", content, group))
        elif isinstance(content, list):
            parts: list[Any] = []
            for index, part in enumerate(content):
                where = f"messages[{group}].content[{index}]"
                if isinstance(part, str):
                    parts.append(part)
                    slots.append(_Slot(parts, index, part, group))
                    continue
                if not isinstance(part, Mapping):
                    raise _invalid(where)
                part_copy = dict(part)
                parts.append(part_copy)
                if part_copy.get("type", "text") != "text":
                    # Images, audio and files cannot be scanned for personal data: refuse them.
                    raise PolicyViolation(
                        "only text content can be scanned for personal data",
                        code="unscannable_content",
                        details={"field": where},
                    )
                _add_text(slots, part_copy, "text", group, f"{where}.text")
            copy["content"] = parts
        elif content is not None:
            raise _invalid(f"messages[{group}].content")
        tool_calls = copy.get("tool_calls")
        if tool_calls is not None:
            copy["tool_calls"] = _collect_tool_calls(tool_calls, slots, group)
    out["messages"] = new_messages
    # Tool definitions come before the conversation in chat templates: number their values first.
    tool_slots: list[_Slot] = []
    if body.get("tools") is not None:
        out["tools"] = _collect_descriptions(body["tools"], tool_slots, "tools")
    _add_text(slots, out, "user", len(messages), "user")
    return out, tool_slots + slots


_DESCRIBING_KEYS = frozenset({"description", "title"})


def _collect_descriptions(value: Any, slots: list[_Slot], where: str) -> Any:
    """Copy a tool definition, registering every description/title string (JSON schemas nest them)."""
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if key in _DESCRIBING_KEYS and isinstance(item, str):
                copy[key] = item
                slots.append(_Slot(copy, key, item, -1))
            else:
                copy[key] = _collect_descriptions(item, slots, f"{where}.{key}")
        return copy
    if isinstance(value, list):
        return [_collect_descriptions(item, slots, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def _collect_tool_calls(tool_calls: Any, slots: list[_Slot], group: int) -> list[Any]:
    if not isinstance(tool_calls, list):
        raise _invalid(f"messages[{group}].tool_calls")
    calls: list[Any] = []
    for index, call in enumerate(tool_calls):
        if not isinstance(call, Mapping):
            raise _invalid(f"messages[{group}].tool_calls[{index}]")
        call_copy = dict(call)
        calls.append(call_copy)
        function = call_copy.get("function")
        if function is None:
            continue
        if not isinstance(function, Mapping):
            raise _invalid(f"messages[{group}].tool_calls[{index}].function")
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


def _add_text(slots: list[_Slot], container: dict[str, Any], key: str, group: int, where: str) -> None:
    value = container.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise _invalid(where)
    slots.append(_Slot(container, key, value, group))


def _collect_completion(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[_Slot]]:
    if not isinstance(body, Mapping):
        raise _invalid("body")
    out = dict(body)
    slots: list[_Slot] = []
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        slots.append(_Slot(out, "prompt", prompt, 0))
    elif isinstance(prompt, list):
        prompts: list[Any] = list(prompt)
        for index, item in enumerate(prompts):
            if not isinstance(item, str):
                # Token ids cannot be scanned for personal data: refuse rather than pass.
                raise _invalid(f"prompt[{index}]")
            slots.append(_Slot(prompts, index, item, index))
        out["prompt"] = prompts
    elif prompt is not None:
        raise _invalid("prompt")
    _add_text(slots, out, "suffix", len(slots), "suffix")
    return out, slots


def _redact(
    collected: tuple[dict[str, Any], list[_Slot]], detector: PIIDetector, profile: PIIProfile
) -> RedactResult:
    body, slots = collected
    _check_scannable(slots)
    _refuse_personal_data_in_other_fields(body, slots, detector, profile)
    all_findings = detector.detect_many([slot.text for slot in slots])
    protected = [_token_spans(slot.text) for slot in slots]
    selected = [
        select_findings(findings, profile, spans)
        for findings, spans in zip(all_findings, protected, strict=True)
    ]
    known = known_values(_known_values(slots, selected, profile))
    if known:
        selected = [
            select_findings(propagate_known_values(slot.text, found, known, spans), profile, spans)
            for slot, found, spans in zip(slots, selected, protected, strict=True)
        ]
    pseudonymizer = Pseudonymizer()
    tally = ActionTally()
    changed = 0
    index = 0
    while index < len(slots):
        # Tokens already in a message reserve their numbers before its new values are numbered.
        group_end = index
        while group_end < len(slots) and slots[group_end].group == slots[index].group:
            pseudonymizer.reserve_tokens_in(slots[group_end].text)
            group_end += 1
        for position in range(index, group_end):
            slot = slots[position]
            new_text = apply_actions(slot.text, selected[position], profile, pseudonymizer, tally)
            if new_text != slot.text:
                slot.container[slot.key] = new_text
                changed += 1
        index = group_end
    if tally.blocked:
        raise PolicyViolation(
            "the request contains personal data that this profile may not send",
            code="pii_blocked",
            details={"entity_types": sorted(tally.blocked)},
        )
    report = RedactionReport(
        entity_counts=MappingProxyType(dict(tally.entities)),
        actions=MappingProxyType(dict(tally.actions)),
        fields_scanned=len(slots),
        texts_changed=changed,
    )
    return body, PseudonymMap(dict(pseudonymizer.token_to_value)), report


#: spaCy refuses longer texts; a field this long is refused rather than forwarded unscanned.
MAX_SCAN_CHARS = 500_000
#: Strings that are protocol words, not text: never personal data.
_PROTOCOL_KEYS = frozenset({"model", "role", "type"})


def _check_scannable(slots: Sequence[_Slot]) -> None:
    for slot in slots:
        if len(slot.text) > MAX_SCAN_CHARS:
            raise PolicyViolation(
                f"a text field is longer than {MAX_SCAN_CHARS} characters and cannot be scanned",
                code="text_too_long",
            )
        try:
            slot.text.encode("utf-8")
        except UnicodeEncodeError:
            raise PolicyViolation("a text field is not valid Unicode", code="invalid_content") from None


def _other_strings(value: Any, path: str, skip: set[tuple[int, Any]], out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(item, str):
            if (id(value), key) not in skip and key not in _PROTOCOL_KEYS:
                out.append((where, item))
            continue
        # Dict keys (e.g. JSON-schema property names) are strings the model sees too.
        if isinstance(item, Mapping):
            out.extend((f"{where}.<key>", str(k)) for k in item if isinstance(k, str))
        _other_strings(item, where, skip, out)


def _refuse_personal_data_in_other_fields(
    body: Mapping[str, Any], slots: Sequence[_Slot], detector: PIIDetector, profile: PIIProfile
) -> None:
    """Strings outside the rewritten text fields (stop words, regexes, schemas, template kwargs,
    ids, unknown extras) cannot be rewritten without changing what they do: personal data there
    refuses the request instead (400, field paths only)."""
    skip = {(id(slot.container), slot.key) for slot in slots}
    others: list[tuple[str, str]] = []
    _other_strings(body, "", skip, others)
    others = [(where, text) for where, text in others if text.strip()]
    if not others:
        return
    if any(len(text) > MAX_SCAN_CHARS for _, text in others):
        raise PolicyViolation("a field is too long to be scanned", code="text_too_long")
    found = detector.detect_many([text for _, text in others])
    fields = sorted(
        {
            where
            for (where, text), findings in zip(others, found, strict=True)
            if any(
                f.entity_type
                for f in select_findings(findings, profile, _token_spans(text))
                if profile.action_for(f.entity_type) != "allow"
            )
        }
    )
    if fields:
        raise PolicyViolation(
            "personal data in a field that cannot be redacted",
            code="pii_in_unredactable_field",
            details={"fields": fields},
        )


def _token_spans(text: str) -> list[tuple[int, int]]:
    if "[" not in text:
        return []
    return [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


def _known_values(
    slots: Sequence[_Slot], selected: Sequence[list[Finding]], profile: PIIProfile
) -> dict[str, str]:
    known: dict[str, str] = {}
    for slot, findings in zip(slots, selected, strict=True):
        for finding in findings:
            if profile.action_for(finding.entity_type) is Action.ALLOW:
                continue
            value = slot.text[finding.start : finding.end]
            if is_min_length(value):
                known.setdefault(value, finding.entity_type)
    return known
