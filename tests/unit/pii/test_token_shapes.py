"""Only the pseudonyms the gateway issues are tokens in a request: a known entity type and a small
ordinal. Anything else in brackets, however token-like, is text and is scanned like text."""

from __future__ import annotations

from typing import Any

import pytest

from policies.errors import PolicyViolation
from policies.pii.analyzer import PIIDetector
from policies.pii.config import BUILTIN_ENTITY_TYPES, Action, PIIProfile
from policies.pii.pseudonymize import Pseudonymizer, token_pattern
from policies.pii.redact_body import redact_chat_body, redact_completion_body

# The pseudonyms of the built-in entity types, as a detector without site patterns issues them.
TOKEN_RE = token_pattern(BUILTIN_ENTITY_TYPES)


def profile() -> PIIProfile:
    return PIIProfile("t", Action.PSEUDONYMIZE, {}, 0.5)


def chat(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


# ----------------------------------------------------------------------------- the grammar


@pytest.mark.parametrize("token", ["[PERSON_1]", "[PHONE_NUMBER_12]", "[US_SSN_9999]", "[VEHICLE_PLATE_3]"])
def test_issued_pseudonyms_are_tokens(token: str) -> None:
    assert TOKEN_RE.fullmatch(token)


@pytest.mark.parametrize(
    "shape",
    [
        "[CC_4111111111111111]",  # not an entity type
        "[SSN_536221234]",
        "[US_SSN_536221234]",  # a known type, but no ordinal is that long
        "[CREDIT_CARD_4111111111111111]",
        "[PERSON_10000]",
        "[PERSON_0]",
        "[PERSON_01]",
        "[X4111111111111111_1]",  # digits in the type
        "[MARIA_GONZALEZ_1]",  # a name as the type
        "[PERSON_Maria Gonzalez]",
        "[REDACTED:4111-1111-1111-1111]",
        "[person_1]",
        "PERSON_123456789",
    ],
)
def test_other_token_shapes_are_not_tokens(shape: str) -> None:
    assert not TOKEN_RE.search(shape)


def test_site_pattern_types_are_tokens_of_a_detector_that_has_them(detector: PIIDetector) -> None:
    tokens = token_pattern(detector.entity_types)
    assert "MEDICAL_RECORD_NUMBER" in detector.entity_types
    assert tokens.fullmatch("[MEDICAL_RECORD_NUMBER_1]")
    assert not tokens.search("[MEDICAL_RECORD_NUMBER_1234567]")
    # A type only a site policy declares is a token where that policy is loaded, nowhere else.
    assert token_pattern(BUILTIN_ENTITY_TYPES | {"STAFF_BADGE"}).fullmatch("[STAFF_BADGE_1]")
    assert not token_pattern(BUILTIN_ENTITY_TYPES).search("[STAFF_BADGE_1]")


def test_any_token_shaped_number_stays_taken() -> None:
    # A site type's token from an earlier turn must not be handed out again, known type or not.
    pseudonymizer = Pseudonymizer()
    pseudonymizer.reserve_tokens_in("see [MEDICAL_RECORD_NUMBER_1] and [PERSON_1]")
    assert pseudonymizer.token_for("MEDICAL_RECORD_NUMBER", "MRN-7654321") == "[MEDICAL_RECORD_NUMBER_2]"
    assert pseudonymizer.token_for("PERSON", "John Smith") == "[PERSON_2]"


def test_a_huge_token_shaped_number_does_not_break_reservation() -> None:
    Pseudonymizer().reserve_tokens_in("[PERSON_" + "9" * 5000 + "]")


# ----------------------------------------------------------------------------- requests, real detector

SMUGGLED = [
    ("Card [CC_4111111111111111] please.", "4111111111111111"),
    ("Card [CREDIT_CARD_4111111111111111] please.", "4111111111111111"),
    ("Card [X4111111111111111_1] please.", "4111111111111111"),
    ("SSN [SSN_536221234] on file.", "536221234"),
    ("SSN [US_SSN_536221234] on file.", "536221234"),
    ("Mail [EMAIL_ADDRESS_maria.gonzalez@example.org] today.", "maria.gonzalez@example.org"),
]


@pytest.mark.parametrize(("text", "value"), SMUGGLED)
def test_a_value_wrapped_in_a_token_shape_is_redacted(detector: PIIDetector, text: str, value: str) -> None:
    out, mapping, _ = redact_chat_body(chat(text), detector, profile())
    assert value not in out["messages"][0]["content"]
    assert any(value in original for original in mapping.token_to_value.values())


@pytest.mark.parametrize(("text", "value"), SMUGGLED[:2])
def test_a_value_wrapped_in_a_token_shape_is_redacted_in_completions(
    detector: PIIDetector, text: str, value: str
) -> None:
    out, _, _ = redact_completion_body({"model": "m", "prompt": text}, detector, profile())
    assert value not in out["prompt"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Card [REDACTED:4111-1111-1111-1111] ok.", "4111-1111-1111-1111"),
        ("Patient [PERSON_Maria Gonzalez] ok.", "Gonzalez"),
    ],
)
def test_other_bracketed_text_is_scanned_too(detector: PIIDetector, text: str, value: str) -> None:
    out, _, _ = redact_chat_body(chat(text), detector, profile())
    assert value not in out["messages"][0]["content"]


def test_a_value_in_a_token_shape_in_a_field_that_cannot_be_rewritten_refuses(detector: PIIDetector) -> None:
    body = {**chat("hello"), "stop": ["[CC_4111111111111111]"]}
    with pytest.raises(PolicyViolation) as info:
        redact_chat_body(body, detector, profile())
    assert info.value.code == "pii_in_unredactable_field"


def test_issued_tokens_are_still_kept_and_their_numbers_not_reused(detector: PIIDetector) -> None:
    text = "[PERSON_1] called [PHONE_NUMBER_2]; John Smith at 415-555-0132 too."
    out, mapping, _ = redact_chat_body(chat(text), detector, profile())
    assert out["messages"][0]["content"] == (
        "[PERSON_1] called [PHONE_NUMBER_2]; [PERSON_2] at [PHONE_NUMBER_1] too."
    )
    assert set(mapping.token_to_value) == {"[PERSON_2]", "[PHONE_NUMBER_1]"}


def test_a_site_type_pseudonym_in_history_is_kept(detector: PIIDetector) -> None:
    out, mapping, _ = redact_chat_body(
        chat("See [MEDICAL_RECORD_NUMBER_1] and MRN-7654321."), detector, profile()
    )
    assert out["messages"][0]["content"] == "See [MEDICAL_RECORD_NUMBER_1] and [MEDICAL_RECORD_NUMBER_2]."
    assert mapping.restore("[MEDICAL_RECORD_NUMBER_2]") == "MRN-7654321"
