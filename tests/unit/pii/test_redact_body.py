from __future__ import annotations

import json
import socket
import threading

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.errors import DetectionUnavailable, PolicyViolation
from policies.pii.analyzer import PIIDetector
from policies.pii.config import Action, PIIPolicy, PIIProfile, load_default_pii_policy
from policies.pii.offload import DetectionPool
from policies.pii.redact_body import (
    aredact_chat_body,
    aredact_completion_body,
    redact_chat_body,
    redact_completion_body,
)


def profile(default: str = "pseudonymize", **actions: str) -> PIIProfile:
    return PIIProfile("t", Action(default), {k: Action(v) for k, v in actions.items()}, 0.5)


def chat(*contents: str) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": c} for c in contents]}


def test_same_value_gets_same_token_across_messages(detector: PIIDetector) -> None:
    out, mapping, _ = redact_chat_body(
        chat("Patient John Smith, phone 13812345678.", "Call １３８ １２３４ ５６７８ about John Smith."),
        detector,
        profile(),
    )
    first, second = (m["content"] for m in out["messages"])
    assert first == "Patient [PERSON_1], phone [PHONE_NUMBER_1]."
    assert second == "Call [PHONE_NUMBER_1] about [PERSON_1]."
    assert mapping.token_to_value == {"[PERSON_1]": "John Smith", "[PHONE_NUMBER_1]": "13812345678"}


def test_second_turn_with_restored_history_keeps_the_first_turn_tokens(detector: PIIDetector) -> None:
    turn1 = chat("Patient John Smith (MRN-1234567) complains of headache.")
    out1, map1, _ = redact_chat_body(turn1, detector, profile())
    answer = map1.restore("[PERSON_1] should rest; see [MEDICAL_RECORD_NUMBER_1].")
    assert answer == "John Smith should rest; see MRN-1234567."
    turn2 = {
        "model": "m",
        "messages": [
            *turn1["messages"],
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "Also notify Mary Jones, 13912345678."},
        ],
    }
    out2, map2, _ = redact_chat_body(turn2, detector, profile())
    assert out2["messages"][0] == out1["messages"][0]
    assert out2["messages"][1]["content"] == "[PERSON_1] should rest; see [MEDICAL_RECORD_NUMBER_1]."
    assert out2["messages"][2]["content"] == "Also notify [PERSON_2], [PHONE_NUMBER_1]."
    assert map2.token_to_value["[PERSON_1]"] == "John Smith"


def test_tokens_already_in_text_are_kept_and_their_numbers_not_reused(detector: PIIDetector) -> None:
    body = chat("[PERSON_1] and [PERSON_3] met John Smith and Mary Jones; [REDACTED_PERSON] left.")
    out, mapping, _ = redact_chat_body(body, detector, profile())
    text = out["messages"][0]["content"]
    assert text == "[PERSON_1] and [PERSON_3] met [PERSON_2] and [PERSON_4]; [REDACTED_PERSON] left."
    assert set(mapping.token_to_value) == {"[PERSON_2]", "[PERSON_4]"}


def test_resent_pseudonymized_answer_keeps_its_tokens(detector: PIIDetector) -> None:
    body = {
        "messages": [
            {"role": "assistant", "content": "[PERSON_1] has [PHONE_NUMBER_1] on file."},
            {"role": "user", "content": "And Mary Jones at 13912345678?"},
        ]
    }
    out, mapping, _ = redact_chat_body(body, detector, profile())
    assert out["messages"][0]["content"] == "[PERSON_1] has [PHONE_NUMBER_1] on file."
    assert out["messages"][1]["content"] == "And [PERSON_2] at [PHONE_NUMBER_2]?"
    assert "[PERSON_1]" not in mapping.token_to_value


def test_actions_per_profile(detector: PIIDetector) -> None:
    text = "John Smith paid with 4111 1111 1111 1111, email john@example.com, ip 10.1.2.3."
    prof = profile(EMAIL_ADDRESS="redact", CREDIT_CARD="mask", IP_ADDRESS="allow")
    out, mapping, report = redact_chat_body(chat(text), detector, prof)
    assert out["messages"][0]["content"] == (
        "[PERSON_1] paid with ************1111, email [REDACTED_EMAIL_ADDRESS], ip 10.1.2.3."
    )
    assert list(mapping.token_to_value.values()) == ["John Smith"]
    assert report.entity_counts == {"PERSON": 1, "CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "IP_ADDRESS": 1}
    assert report.actions == {"pseudonymize": 1, "mask": 1, "redact": 1, "allow": 1}


def test_block_raises_with_entity_types_only(detector: PIIDetector) -> None:
    strict = load_default_pii_policy().profile("strict")
    body = chat("身份证号11010519491231002X，SSN 219-09-9999, John Smith")
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, strict)
    assert info.value.code == "pii_blocked"
    assert info.value.details == {"entity_types": ["CN_ID_CARD", "US_SSN"]}
    rendered = str(info.value) + repr(info.value) + json.dumps(info.value.details)
    for value in ("11010519491231002X", "219-09-9999", "John Smith"):
        assert value not in rendered


def test_every_model_visible_field_is_scanned_and_the_rest_untouched(detector: PIIDetector) -> None:
    body = {
        "model": "m",
        "top_k": 20,
        "regex": r"\d{11}",
        "chat_template_kwargs": {"enable_thinking": True, "mode": "concise"},
        "messages": [
            {"role": "system", "content": "You assist Dr. Alice Brown."},
            {
                "role": "user",
                "name": "John Smith",
                "content": [
                    {"type": "text", "text": "My phone is 13812345678"},
                    {"text": "part without a type"},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {
                            "name": "lookup",
                            "arguments": json.dumps({"who": "张伟", "phone": "13912345678"}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "found alice.brown@example.com"},
        ],
    }
    snapshot = json.dumps(body, sort_keys=True)
    out, _, report = redact_chat_body(body, detector, profile())
    assert json.dumps(body, sort_keys=True) == snapshot  # input not mutated
    messages = out["messages"]
    assert messages[0]["content"] == "You assist Dr. [PERSON_1]."
    assert messages[1]["name"] == "[PERSON_2]"
    assert messages[1]["content"][0]["text"] == "My phone is [PHONE_NUMBER_1]"
    assert messages[1]["content"][1] == {"text": "part without a type"}
    arguments = json.loads(messages[2]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"who": "[PERSON_3]", "phone": "[PHONE_NUMBER_2]"}
    assert messages[3]["content"] == "found [EMAIL_ADDRESS_1]"
    for key in ("top_k", "regex", "chat_template_kwargs", "model"):
        assert out[key] == body[key]
    assert report.fields_scanned == 6


def test_non_text_parts_are_refused_because_they_cannot_be_scanned(detector: PIIDetector) -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see image"},
                    {"type": "image_url", "image_url": {"url": "data:,13812345678"}},
                ],
            }
        ]
    }
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, profile())
    assert info.value.code == "unscannable_content"
    assert "13812345678" not in str(info.value)


def test_tool_definitions_and_user_field_are_scanned(detector: PIIDetector) -> None:
    body = {
        "messages": [{"role": "user", "content": "Book John Smith again"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "book",
                    "description": "Books for John Smith, phone 13812345678",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "who": {"type": "string", "description": "usually alice.brown@example.com"}
                        },
                    },
                },
            }
        ],
        "user": "alice.brown@example.com",
    }
    out, _, _ = redact_chat_body(body, detector, profile())
    function = out["tools"][0]["function"]
    # Tools are numbered first (chat templates put them before the conversation).
    assert function["description"] == "Books for [PERSON_1], phone [PHONE_NUMBER_1]"
    assert function["parameters"]["properties"]["who"]["description"] == "usually [EMAIL_ADDRESS_1]"
    assert function["name"] == "book"
    assert out["messages"][0]["content"] == "Book [PERSON_1] again"
    assert out["user"] == "[EMAIL_ADDRESS_1]"


def test_completions_prompt_str_and_list(detector: PIIDetector) -> None:
    out, _, _ = redact_completion_body({"prompt": "Dear John Smith,", "max_tokens": 5}, detector, profile())
    assert out == {"prompt": "Dear [PERSON_1],", "max_tokens": 5}
    out, _, _ = redact_completion_body({"prompt": ["call 13812345678", "no pii here"]}, detector, profile())
    assert out["prompt"] == ["call [PHONE_NUMBER_1]", "no pii here"]
    with pytest.raises(PolicyViolation) as info:
        redact_completion_body({"prompt": [101, 2023]}, detector, profile())
    assert info.value.code == "invalid_content"


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": 42}]},
        {"messages": "hello"},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
        {"messages": [{"role": "user", "content": "x", "name": 3}]},
    ],
)
def test_odd_shapes_are_refused_as_invalid_content(detector: PIIDetector, body: dict) -> None:
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, profile())
    assert info.value.code == "invalid_content"


class _Broken:
    def detect_many(self, texts):
        raise RuntimeError("secret text John Smith")


class _Slow:
    """Detection that waits until released: it cannot finish before any time limit."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def detect_many(self, texts):
        self.release.wait(timeout=60)
        return [[] for _ in texts]


def test_detector_failure_fails_closed_without_text_in_message() -> None:
    with pytest.raises(DetectionUnavailable) as info:
        redact_chat_body(chat("John Smith"), _Broken(), profile())  # type: ignore[arg-type]
    assert "John" not in str(info.value) and info.value.__cause__ is None


async def test_async_failure_and_timeout_fail_closed(detector: PIIDetector) -> None:
    pool = DetectionPool(2, timeout_s=5.0, queue_timeout_s=5.0)
    with pytest.raises(DetectionUnavailable) as info:
        await aredact_chat_body(chat("John Smith"), _Broken(), profile(), pool)  # type: ignore[arg-type]
    assert "John" not in str(info.value)
    fast = DetectionPool(2, timeout_s=0.05, queue_timeout_s=5.0)
    slow = _Slow()
    try:
        with pytest.raises(DetectionUnavailable, match="timed out"):
            await aredact_completion_body({"prompt": "x"}, slow, profile(), fast)  # type: ignore[arg-type]
    finally:
        slow.release.set()
    out, _, _ = await aredact_chat_body(chat("call 13812345678"), detector, profile(), pool)
    assert out["messages"][0]["content"] == "call [PHONE_NUMBER_1]"


def test_pseudonym_map_repr_has_no_values(detector: PIIDetector) -> None:
    _, mapping, _ = redact_chat_body(chat("John Smith"), detector, profile())
    assert "John" not in repr(mapping) and "John" not in str(mapping)


def test_analysis_makes_no_network_connection(monkeypatch: pytest.MonkeyPatch, pii_policy: PIIPolicy) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = PIIDetector(pii_policy, cache_key=b"k" * 32)
    text = "Mail john.doe@example.co.uk or visit https://www.example.org/path, 患者张伟 13812345678"
    found = {text[f.start : f.end]: f.entity_type for f in fresh.detect(text)}
    assert found["john.doe@example.co.uk"] == "EMAIL_ADDRESS"
    assert fresh.detect_patterns_only("x@example.com")


def test_cache_avoids_reanalysis_and_keeps_no_raw_text(pii_policy: PIIPolicy, detector: PIIDetector) -> None:
    text = "Unique cache probe: Patient Robert Miller, 13712345678."
    calls_before = detector.analyzer_calls
    first = detector.detect(text)
    assert detector.analyzer_calls == calls_before + 1
    assert detector.detect(text) == first
    assert detector.detect_many([text, text]) == [first, first]
    assert detector.analyzer_calls == calls_before + 1
    entries = detector.cache._entries
    for key, value in entries.items():
        assert isinstance(key, bytes) and len(key) == 32
        assert "Robert" not in repr(value) and "1371234" not in repr(value)
    assert detector.cache.key(text) in entries
    assert text.encode() not in b"".join(entries)


def test_cache_is_bounded(pii_policy: PIIPolicy, detector: PIIDetector) -> None:
    small = PIIDetector.__new__(PIIDetector)
    small.__dict__.update(detector.__dict__)
    from policies.pii.cache import FindingCache

    small._cache = FindingCache(b"x" * 32, 3)
    for index in range(10):
        small.detect(f"text number {index}")
    assert len(small.cache) == 3


@pytest.mark.parametrize(
    "extra",
    [
        {"stop": ["call 13812345678"]},
        {"chat_template_kwargs": {"note": "John Smith 13812345678"}},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "alice.brown@example.com"}}},
    ],
)
def test_personal_data_in_fields_that_cannot_be_rewritten_refuses(detector: PIIDetector, extra: dict) -> None:
    body = {"messages": [{"role": "user", "content": "hello"}], **extra}
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, profile())
    assert info.value.code == "pii_in_unredactable_field"
    assert "13812345678" not in str(info.value) and "alice" not in str(info.value)


def test_text_too_long_to_scan_is_refused(detector: PIIDetector) -> None:
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body({"messages": [{"role": "user", "content": "a " * 300_000}]}, detector, profile())
    assert info.value.code == "text_too_long"


# ----------------------------------------------------------------------------- nothing around the scanner
# Every string and number the engine receives is scanned, or is a checked protocol word, or the
# request is refused (issue 17).

SSN = "536-22-1234"
CARD = 4111111111111111
BASE = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


def _refused(
    detector: PIIDetector, body: dict, code: str = "pii_in_unredactable_field", **kwargs: object
) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, profile(), **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code, info.value
    rendered = str(info.value) + json.dumps(info.value.details)
    for value in (SSN, str(CARD), "Gonzalez", "4111 1111"):
        assert value not in rendered
    return info.value


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"chat_template_kwargs": {"type": f"Maria Gonzalez ssn {SSN}"}}, "chat_template_kwargs.type"),
        ({"metadata": {"model": f"SSN {SSN}"}}, "metadata.model"),
        ({"metadata": {"role": f"SSN {SSN}"}}, "metadata.role"),
        ({"extra": [{"type": "x", "model": {"role": f"SSN {SSN}"}}]}, "extra[0].model.role"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": f"card {CARD}"}},
                }
            },
            "response_format.json_schema.schema.type",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"type": "object", "role": f"SSN {SSN}"}},
                    }
                ]
            },
            "tools[0].function.parameters.role",
        ),
    ],
)
def test_protocol_key_names_elsewhere_are_scanned_like_any_other_key(
    detector: PIIDetector, extra: dict, field: str
) -> None:
    error = _refused(detector, {**BASE, **extra})
    assert error.details == {"fields": [field]}
    assert field in str(error)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"metadata": {"card": CARD}}, "metadata.card"),
        ({"metadata": {"card": float(CARD)}}, "metadata.card"),
        ({"metadata": {"card": CARD + 0.5}}, "metadata.card"),
        ({"metadata": {"card": -CARD}}, "metadata.card"),
        ({"account": CARD}, "account"),
        ({"custom_params": {"ids": [1, 2, CARD]}}, "custom_params.ids[2]"),
        ({"metadata": {"seed": CARD}}, "metadata.seed"),  # only the top-level seed is exempt
        ({"seed": f"card {CARD}"}, "seed"),  # and only when it is a number
        ({"max_tokens": CARD}, "max_tokens"),
    ],
)
def test_numbers_that_hold_personal_data_refuse_the_request(
    detector: PIIDetector, extra: dict, field: str
) -> None:
    error = _refused(detector, {**BASE, **extra})
    assert error.details == {"fields": [field]}


def test_object_keys_at_the_top_level_are_scanned(detector: PIIDetector) -> None:
    error = _refused(detector, {f"Maria Gonzalez SSN {SSN}": 1, **BASE})
    assert error.details == {"fields": ["<key>"]}


def test_field_paths_never_repeat_a_key_that_could_be_the_data(detector: PIIDetector) -> None:
    error = _refused(detector, {**BASE, "metadata": {f"Maria Gonzalez SSN {SSN}": {"card": CARD}}})
    assert error.details == {"fields": ["metadata.*.card", "metadata.<key>"]}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"response_format": {"type": f"card {CARD}"}}, "response_format.type"),
        ({"response_format": {"type": CARD}}, "response_format.type"),
        ({"tool_choice": f"SSN {SSN}"}, "tool_choice"),
        ({"tool_choice": {"type": f"SSN {SSN}", "function": {"name": "f"}}}, "tool_choice.type"),
        ({"tools": [{"type": f"SSN {SSN}", "function": {"name": "f"}}]}, "tools[0].type"),
        ({"messages": [{"role": f"SSN {SSN}", "content": "hi"}]}, "messages[0].role"),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "type": f"SSN {SSN}", "function": {"name": "f"}}],
                    }
                ]
            },
            "messages[0].tool_calls[0].type",
        ),
    ],
)
def test_a_protocol_word_outside_its_vocabulary_is_refused_never_forwarded(
    detector: PIIDetector, extra: dict, field: str
) -> None:
    error = _refused(detector, {**BASE, **extra}, code="invalid_content")
    assert error.details == {"field": field}
    assert field in str(error)


def test_a_content_part_type_other_than_text_is_refused(detector: PIIDetector) -> None:
    body = {**BASE, "messages": [{"role": "user", "content": [{"type": f"SSN {SSN}", "text": "hi"}]}]}
    assert _refused(detector, body, code="unscannable_content").details == {"field": "messages[0].content[0]"}
    body = {**BASE, "messages": [{"role": "user", "content": [{"type": ["text"], "text": "hi"}]}]}
    _refused(detector, body, code="unscannable_content")


def test_token_ids_instead_of_messages_are_refused(detector: PIIDetector) -> None:
    assert _refused(detector, {**BASE, "input_ids": [1, 2, 3]}, code="unscannable_content").details == {
        "field": "input_ids"
    }


def test_model_is_scanned_unless_the_caller_validated_it(detector: PIIDetector) -> None:
    _refused(detector, {**BASE, "model": f"Maria Gonzalez SSN {SSN}"})
    error = _refused(detector, {**BASE, "model": "other"}, code="invalid_content", models={"m"})
    assert error.details == {"field": "model"} and "other" not in str(error)
    out, _, _ = redact_chat_body({**BASE, "model": "m"}, detector, profile(), models={"m"})
    assert out["model"] == "m"
    out, _, _ = redact_completion_body({"model": "m", "prompt": "x"}, detector, profile(), models={"m"})
    assert out["model"] == "m"
    with pytest.raises(PolicyViolation):
        redact_completion_body({"model": "n", "prompt": "x"}, detector, profile(), models={"m"})


ORDINARY_CHAT = {
    "model": "deepseek-ai/DeepSeek-V3",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "What is the weather?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ],
    "temperature": 0.7,
    "top_p": 0.95,
    "top_k": 20,
    "min_p": 0.05,
    "max_tokens": 512,
    "max_completion_tokens": 100000,
    "n": 2,
    "seed": 4155550132,  # random seeds look like phone numbers: top-level seed is not scanned
    "presence_penalty": 0.3,
    "frequency_penalty": 0.30000000000000004,
    "repetition_penalty": 1.1234567891234567,
    "logit_bias": {"50256": -100, "128000": 5.5},
    "stop": ["\n\n", "END"],
    "stop_token_ids": [128001, 128009],
    "regex": r"\d{3}-\w+",
    "ebnf": 'root ::= "yes" | "no"',
    "separate_reasoning": True,
    "chat_template_kwargs": {"enable_thinking": False, "thinking_budget": 2048},
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "enum": ["Paris", "Berlin"]},
                        "days": {"type": "integer", "minimum": 1, "maximum": 14},
                    },
                    "required": ["city"],
                },
            },
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "weather"}},
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "forecast",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"summary": {"type": "string", "maxLength": 200}},
                "required": ["summary"],
            },
        },
    },
}


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"tool_choice": "auto"},
        {"tool_choice": "none"},
        {"tool_choice": "required"},
        {"response_format": {"type": "json_object"}},
        {"response_format": {"type": "text"}},
        {
            "response_format": {
                "type": "structural_tag",
                "structures": [{"begin": "<f>", "schema": {"type": "object"}, "end": "</f>"}],
                "triggers": ["<f>"],
            }
        },
    ],
)
def test_ordinary_requests_pass_unchanged(detector: PIIDetector, variant: dict) -> None:
    body = {**ORDINARY_CHAT, **variant}
    out, mapping, _ = redact_chat_body(body, detector, profile(), models={"deepseek-ai/DeepSeek-V3"})
    assert out == body and not mapping.token_to_value


def test_ordinary_completion_passes_unchanged(detector: PIIDetector) -> None:
    body = {
        "model": "m",
        "prompt": "Once upon a time",
        "max_tokens": 64,
        "seed": 42,
        "logit_bias": {"13": -1},
        "response_format": {"type": "json_object"},
        "echo": False,
        "logprobs": 2,
        "stop": "\n",
    }
    out, _, _ = redact_completion_body(body, detector, profile())
    assert out == body


_PII_TEXTS = ["jane.roe@example.org", f"SSN {SSN}", "card 4111 1111 1111 1111", "call 415-555-0132"]
_PII_NUMBERS = [CARD, 5555555555554444, 4155550132]
_KEYS = st.sampled_from(
    [
        "type", "role", "model", "name", "description", "title", "text", "content", "metadata",
        "user", "seed", "tool_choice", "response_format", "tools", "function", "arguments", "stop",
        "messages", "enum", "properties", "chat_template_kwargs", "json_schema", "schema",
    ]
) | st.text("abcxyz_", min_size=1, max_size=6)  # fmt: skip


def _place(body: dict, path: list, value: object, as_key: bool) -> None:
    node: object = body
    steps = [*path]
    while steps:
        step = steps.pop(0)
        last = not steps
        child: object = {} if (steps and isinstance(steps[0], str)) or as_key else []
        if last and not as_key:
            child = value
        elif last:
            child = {value: "x"}  # type: ignore[dict-item]
        if isinstance(node, dict) and isinstance(step, str):
            existing = node.get(step)
            keep = not last and isinstance(existing, dict | list) and isinstance(existing, type(child))
            node[step] = existing if keep else child
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int):
            while len(node) <= step:
                node.append("x")
            keep = not last and isinstance(node[step], type(child)) and isinstance(child, dict | list)
            if not keep:
                node[step] = child
            node = node[step]
        else:
            return


# Where the nested path starts: the top level, or inside places the gateway knows.
_PREFIXES = st.sampled_from(
    [[], ["messages", 0], ["messages", 0, "content", 0], ["tools", 0, "function"], ["response_format"]]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=_PREFIXES,
    first=_KEYS,
    rest=st.lists(_KEYS | st.integers(0, 2), max_size=4),
    value=st.sampled_from(_PII_TEXTS) | st.sampled_from(_PII_NUMBERS),
    as_key=st.booleans(),
)
def test_personal_data_anywhere_is_redacted_or_refused(
    detector: PIIDetector, prefix: list, first: str, rest: list, value: object, as_key: bool
) -> None:
    path = [*prefix, first, *rest]
    as_key = as_key and isinstance(value, str)
    assume(not (path == ["seed"] and isinstance(value, int) and not as_key))  # the documented exemption
    body = json.loads(json.dumps(BASE))
    _place(body, path, value, as_key)
    try:
        out, _, _ = redact_chat_body(body, detector, profile())
    except PolicyViolation:
        return
    forwarded = json.dumps(out, ensure_ascii=False)
    core = str(value).split(" ", 1)[-1]
    assert core not in forwarded, (path, value, as_key)


@pytest.mark.parametrize(
    "metadata",
    [{"ssn": 536221234}, {"ssn": "536221234"}, {"social_security_number": "536 22 1234"}],
    ids=["number", "string", "spaced"],
)
def test_a_key_is_the_context_of_its_value_in_unredactable_fields(
    detector: PIIDetector, metadata: dict[str, object]
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "metadata": metadata}
    with pytest.raises(PolicyViolation) as exc:
        redact_chat_body(body, detector, profile())
    assert exc.value.code == "pii_in_unredactable_field"
