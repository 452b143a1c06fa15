"""Scan and rewrite every text field of an OpenAI-style request body; scan or check everything else."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from policies.errors import DetectionUnavailable, PolicyError, PolicyViolation
from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.config import Action, PIIProfile
from policies.pii.offload import SHARED_OWNER, DetectionPool
from policies.pii.pseudonymize import (
    ActionTally,
    Pseudonymizer,
    apply_actions,
    is_min_length,
    known_values,
    propagate_known_values,
    restore_tokens,
    select_findings,
    token_pattern,
)

RedactResult = tuple[dict[str, Any], "PseudonymMap", "RedactionReport"]
T = TypeVar("T")

# Closed vocabularies: the only strings forwarded without being scanned, each at its exact place
# (SGLang's OpenAI protocol). A value there that is not in its vocabulary is refused.
MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
CONTENT_PART_TYPES = frozenset({"text"})  # images, audio, files cannot be scanned
TOOL_TYPES = frozenset({"function"})  # tools[i].type, messages[i].tool_calls[j].type, tool_choice.type
TOOL_CHOICE_WORDS = frozenset({"none", "auto", "required"})
RESPONSE_FORMAT_TYPES = frozenset({"text", "json_object", "json_schema", "structural_tag"})

#: Numbers whose integer part has at least this many digits are scanned as text (card, phone,
#: ID numbers); shorter ones (temperature 0.7, max_tokens 512, top_k 20) cannot hold them.
MIN_SCANNED_DIGITS = 6
#: Top-level numeric parameters that are random by nature and forwarded unscanned: a random
#: 10-digit seed looks like a phone number to the recognizers one time in four.
UNSCANNED_NUMBERS = frozenset({"seed"})


@dataclass
class PseudonymMap:
    """Token -> original value for one request; lives only in memory, never in logs."""

    token_to_value: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PseudonymMap(<{len(self.token_to_value)} tokens>)"

    __str__ = __repr__

    def restore(self, text: str) -> str:
        """Put the original values back in place of this request's tokens."""
        return restore_tokens(text, self.token_to_value)


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


@dataclass
class _Collected:
    """The copied body, its rewritable text fields, and the protocol words already checked."""

    body: dict[str, Any]
    slots: list[_Slot]
    words: set[tuple[int, Any]] = field(default_factory=set)  # (id(container), key)


def redact_chat_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    *,
    models: Collection[str] | None = None,
) -> RedactResult:
    """Rewrite a /v1/chat/completions body: message text is redacted, protocol words are checked
    against their vocabularies, and every other string or long number anywhere (object keys
    included) is scanned; personal data there refuses the request.

    ``models``: the model names the caller has already validated; ``model`` must be one of them
    and is then not scanned. ``None``: ``model`` is scanned like any other string.

    Raises PolicyViolation (pii_blocked, pii_in_unredactable_field, invalid_content,
    unscannable_content, text_too_long) or DetectionUnavailable.
    """
    return _fail_closed(lambda: _redact(_collect_chat(body, models), detector, profile))


def redact_completion_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    *,
    models: Collection[str] | None = None,
) -> RedactResult:
    """Rewrite a /v1/completions body (``prompt`` as str or list of str, and ``suffix``); the rest
    is checked and scanned as in :func:`redact_chat_body`."""
    return _fail_closed(lambda: _redact(_collect_completion(body, models), detector, profile))


async def aredact_chat_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    pool: DetectionPool,
    *,
    models: Collection[str] | None = None,
    owner: Hashable = SHARED_OWNER,
) -> RedactResult:
    """``redact_chat_body`` in ``pool``, in ``owner``'s turn (the caller's principal id: principals
    take turns for the pool's threads); a timeout raises DetectionUnavailable and stops the
    detection at its next window."""
    work = partial(redact_chat_body, body, detector, profile, models=models)
    return await _in_pool(work, pool, owner)


async def aredact_completion_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    pool: DetectionPool,
    *,
    models: Collection[str] | None = None,
    owner: Hashable = SHARED_OWNER,
) -> RedactResult:
    """``redact_completion_body`` in ``pool``, as :func:`aredact_chat_body`."""
    work = partial(redact_completion_body, body, detector, profile, models=models)
    return await _in_pool(work, pool, owner)


async def _in_pool(work: Callable[[], T], pool: DetectionPool, owner: Hashable) -> T:
    try:
        return await pool.run(work, owner=owner)
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


def _check_word(
    collected: _Collected,
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


def _collect_common(collected: _Collected, models: Collection[str] | None) -> None:
    """The protocol words both routes share: ``model`` (when validated) and ``response_format``."""
    out = collected.body
    if models is not None:
        if out.get("model") is None:
            raise _invalid("model")
        _check_word(collected, out, "model", models, "model", list_words=False)
    response_format = out.get("response_format")
    if isinstance(response_format, Mapping):
        out["response_format"] = response_format = dict(response_format)
        _check_word(collected, response_format, "type", RESPONSE_FORMAT_TYPES, "response_format.type")
    elif response_format is not None:
        raise _invalid("response_format")


def _collect_chat(body: Mapping[str, Any], models: Collection[str] | None = None) -> _Collected:
    if not isinstance(body, Mapping):
        raise _invalid("body")
    collected = _Collected(dict(body), [])
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
        raise _invalid("messages")
    new_messages: list[Any] = []
    for group, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise _invalid(f"messages[{group}]")
        copy = dict(message)
        new_messages.append(copy)
        _check_word(collected, copy, "role", MESSAGE_ROLES, f"messages[{group}].role")
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
                part_type = part_copy.get("type", "text")
                if not isinstance(part_type, str) or part_type not in CONTENT_PART_TYPES:
                    # Images, audio and files cannot be scanned for personal data: refuse them.
                    raise _unscannable(where)
                _check_word(collected, part_copy, "type", CONTENT_PART_TYPES, f"{where}.type")
                _add_text(slots, part_copy, "text", group, f"{where}.text")
            copy["content"] = parts
        elif content is not None:
            raise _invalid(f"messages[{group}].content")
        tool_calls = copy.get("tool_calls")
        if tool_calls is not None:
            copy["tool_calls"] = _collect_tool_calls(tool_calls, collected, group)
    out["messages"] = new_messages
    # Tool definitions come before the conversation in chat templates: number their values first.
    tool_slots: list[_Slot] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _invalid("tools")
        out["tools"] = _collect_descriptions(tools, tool_slots, "tools")
        for index, tool in enumerate(out["tools"]):
            if not isinstance(tool, dict):
                raise _invalid(f"tools[{index}]")
            _check_word(collected, tool, "type", TOOL_TYPES, f"tools[{index}].type")
    _add_text(slots, out, "user", len(messages), "user")
    collected.slots = tool_slots + slots
    return collected


def _collect_tool_choice(collected: _Collected) -> None:
    """``tool_choice``: "none" | "auto" | "required" | {"type": "function", "function": {...}}."""
    out = collected.body
    choice = out.get("tool_choice")
    if isinstance(choice, Mapping):
        out["tool_choice"] = choice = dict(choice)
        _check_word(collected, choice, "type", TOOL_TYPES, "tool_choice.type")
    else:
        _check_word(collected, out, "tool_choice", TOOL_CHOICE_WORDS, "tool_choice")


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


def _collect_tool_calls(tool_calls: Any, collected: _Collected, group: int) -> list[Any]:
    if not isinstance(tool_calls, list):
        raise _invalid(f"messages[{group}].tool_calls")
    slots = collected.slots
    calls: list[Any] = []
    for index, call in enumerate(tool_calls):
        if not isinstance(call, Mapping):
            raise _invalid(f"messages[{group}].tool_calls[{index}]")
        call_copy = dict(call)
        calls.append(call_copy)
        _check_word(collected, call_copy, "type", TOOL_TYPES, f"messages[{group}].tool_calls[{index}].type")
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


def _collect_completion(body: Mapping[str, Any], models: Collection[str] | None = None) -> _Collected:
    if not isinstance(body, Mapping):
        raise _invalid("body")
    collected = _Collected(dict(body), [])
    out, slots = collected.body, collected.slots
    _collect_common(collected, models)
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
    return collected


def _redact(collected: _Collected, detector: PIIDetector, profile: PIIProfile) -> RedactResult:
    body, slots = collected.body, collected.slots
    _check_scannable(slots)
    _refuse_personal_data_in_other_fields(collected, detector, profile)
    all_findings = detector.detect_many([slot.text for slot in slots])
    protected = [_token_spans(slot.text, detector) for slot in slots]
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
#: Field paths named in a refusal; the rest are counted.
_MAX_NAMED_FIELDS = 5
# Keys shown in field paths; others (spaces, "@", long digit runs: they may be the data) are "*".
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


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


def _path_key(key: str) -> str:
    plain = _PLAIN_KEY.fullmatch(key) and sum(c.isdigit() for c in key) <= 3
    return key if plain else "*"


def _number_text(value: int | float, where: str) -> str | None:
    """The decimal digits of a number's integer part, when there are enough to be an identifier.

    Fractions are not scanned: a random float's 16 fraction digits pass the card checksum one
    time in ten, and nobody writes an identifier after a decimal point by mistake.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    try:
        digits = str(abs(value))
    except ValueError:  # beyond Python's int-to-text limit
        raise _invalid(where) from None
    return digits if len(digits) >= MIN_SCANNED_DIGITS else None


def _unslotted_values(collected: _Collected) -> list[tuple[str, str]]:
    """(field path, text) of every string, long number and object key the body holds outside the
    rewritten text fields and the checked protocol words."""
    skip = {(id(slot.container), slot.key) for slot in collected.slots} | collected.words
    out: list[tuple[str, str]] = []
    body = collected.body
    out.extend(("<key>", key) for key in body if isinstance(key, str))
    for key, item in body.items():
        if key in UNSCANNED_NUMBERS and isinstance(item, int) and not isinstance(item, bool):
            continue
        _walk(body, key, item, "", skip, out)
    return out


#: Keys up to this long are put before their value as its context.
_MAX_LABEL = 64


def _walk(
    container: Any, key: Any, item: Any, path: str, skip: set[tuple[int, Any]], out: list[tuple[str, str]]
) -> None:
    if isinstance(container, list):
        where = f"{path}[{key}]"
    else:
        name = _path_key(str(key))
        where = f"{path}.{name}" if path else name
    if (id(container), key) in skip:
        return
    # A value is scanned after its key, which is its context: {"ssn": 536221234} is an SSN, the
    # bare digits are not. These texts only decide a refusal; nothing is rewritten in them.
    label = f"{key}: " if isinstance(key, str) and len(key) <= _MAX_LABEL else ""
    if isinstance(item, str):
        out.append((where, label + item if label and item.strip() else item))
    elif isinstance(item, bool) or item is None:
        return
    elif isinstance(item, int | float):
        text = _number_text(item, where)
        if text is not None:
            out.append((where, label + text))
    elif isinstance(item, Mapping):
        # Keys (JSON-schema property names, template kwargs...) reach the model too.
        out.extend((f"{where}.<key>", k) for k in item if isinstance(k, str))
        for inner_key, inner in item.items():
            _walk(item, inner_key, inner, where, skip, out)
    elif isinstance(item, list):
        for index, inner in enumerate(item):
            _walk(item, index, inner, where, skip, out)
    else:
        raise _invalid(where)  # not JSON: nothing else can be checked


def _refuse_personal_data_in_other_fields(
    collected: _Collected, detector: PIIDetector, profile: PIIProfile
) -> None:
    """Strings, object keys and long numbers outside the rewritten text fields (stop words,
    regexes, schemas, template kwargs, ids, unknown extras) cannot be rewritten without changing
    what they do: personal data there refuses the request instead (400, field paths only)."""
    others = [(where, text) for where, text in _unslotted_values(collected) if text.strip()]
    if not others:
        return
    if any(len(text) > MAX_SCAN_CHARS for _, text in others):
        raise PolicyViolation("a field is too long to be scanned", code="text_too_long")
    unique = list(dict.fromkeys(text for _, text in others))
    found = dict(zip(unique, detector.detect_many(unique), strict=True))
    fields = sorted(
        {
            where
            for where, text in others
            if any(
                profile.action_for(f.entity_type) != "allow"
                for f in select_findings(found[text], profile, _token_spans(text, detector))
            )
        }
    )
    if fields:
        named = ", ".join(fields[:_MAX_NAMED_FIELDS])
        more = f" and {len(fields) - _MAX_NAMED_FIELDS} more" if len(fields) > _MAX_NAMED_FIELDS else ""
        raise PolicyViolation(
            f"personal data in a field that cannot be redacted: {named}{more}",
            code="pii_in_unredactable_field",
            details={"fields": fields},
        )


def _token_spans(text: str, detector: PIIDetector) -> list[tuple[int, int]]:
    """Where the pseudonyms the gateway issues are (a known entity type, an ordinal up to 9999):
    the only bracketed text not scanned. ``[CC_4111...]`` or ``[PERSON_Maria Gonzalez]`` is text."""
    if "[" not in text:
        return []
    return [(m.start(), m.end()) for m in token_pattern(detector.entity_types).finditer(text)]


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
