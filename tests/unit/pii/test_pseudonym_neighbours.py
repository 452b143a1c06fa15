"""Name parts next to the gateway's own person pseudonyms are names; other words there are not."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.names_pseudonyms import PERSON_TOKEN_RE
from policies.pii.pseudonymize import redaction_token, token_pattern


def _persons(detector: PIIDetector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maria [PERSON_1] Gonzalez called this morning.", ["Maria", "Gonzalez"]),
        ("Summarize the chart for Maria [PERSON_1].", ["Maria"]),
        ("maria [PERSON_1] gonzalez", ["maria", "gonzalez"]),
        ("PATIENT MARIA [PERSON_3] ADMITTED", ["MARIA"]),
        ("Maria Luisa [PERSON_1] called", ["Maria Luisa"]),
        ("Dr. [PERSON_1] Khoury will see her.", ["Khoury"]),
        ("[PERSON_2] Tran's account is frozen.", ["Tran"]),
        ("Ask [PERSON_1] Featherstonehaugh about it.", ["Featherstonehaugh"]),
        ("Notes from [PERSON_1] Brown, RN.", ["Brown"]),
        ("M4ria [PERSON_1] G0nzalez", ["M4ria", "G0nzalez"]),
        ("Letter for [REDACTED_PERSON] Adeyemi.", ["Adeyemi"]),
    ],
)
def test_name_part_next_to_a_person_pseudonym_is_found(
    detector: PIIDetector, text: str, expected: list[str]
) -> None:
    found = _persons(detector, text)
    for part in expected:
        assert part in found, (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "Transfer [PERSON_1] to the ward.",
        "Send the referral to [PERSON_1] Hospital today.",
        "The visit with Tuesday [PERSON_2] was moved.",
        "Moved to Tuesday [PERSON_2] instead.",
        "Will [PERSON_1] come in tomorrow?",
        "Grant [PERSON_1] access to the file.",
        "[PERSON_1] will call back.",
        "MRN [PERSON_1] was merged.",
        "The [PERSON_1] Street branch and the [PERSON_2] Bank account.",
        "He has [PERSON_1] syndrome.",
        "Maria\n[PERSON_1]",
    ],
)
def test_word_next_to_a_person_pseudonym_that_is_no_name_part_stays(detector: PIIDetector, text: str) -> None:
    assert _persons(detector, text) == []


def test_name_part_next_to_another_entity_token_is_not_taken_for_its_rest(detector: PIIDetector) -> None:
    # A pseudonym of another type says nothing about the words around it.
    text = "Call [PHONE_NUMBER_1] Tuesday about the refund."
    assert _persons(detector, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "[PERSON_1]",
        "[PERSON_9999]",
        "[PERSON_10000]",
        "[PERSON_0]",
        "[PERSON_01]",
        "[PERSON_X]",
        "[person_1]",
        "[CC_4111111111111111]",
        "[EMAIL_ADDRESS_1]",
    ],
)
def test_person_token_shape_agrees_with_the_pseudonymizer(text: str) -> None:
    issued = token_pattern(["PERSON"]).fullmatch(text) is not None
    assert (PERSON_TOKEN_RE.fullmatch(text) is not None) == issued


def test_person_redaction_token_counts_as_a_person_token() -> None:
    assert PERSON_TOKEN_RE.fullmatch(redaction_token("PERSON"))
