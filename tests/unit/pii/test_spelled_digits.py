"""Numbers spelled out digit by digit are identifiers; counts and doses in words stay text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.recognizers_spelled import is_counting, spelled_digits
from tests.unit.pii.found import found_as

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        (
            "my social is five three six, two two, one two three four",
            "five three six, two two, one two three four",
            "US_SSN",
        ),
        ("ssn: 5 three 6 2 two 1 2 3 4", "5 three 6 2 two 1 2 3 4", "US_SSN"),
        (
            "call me on oh seven seven double oh, nine double oh four six one",
            "oh seven seven double oh, nine double oh four six one",
            "PHONE_NUMBER",
        ),
        (
            "card four one one one one one one one one one one one one one one one please",
            "four one one one one one one one one one one one one one one one",
            "CREDIT_CARD",
        ),
        ("Her number is Four-One-Five Five-Five-Five Zero-One-Three-Two.", None, "PHONE_NUMBER"),
    ],
)
def test_spelled_out_numbers_are_found(
    detector: PIIDetector, text: str, value: str | None, entity_type: str
) -> None:
    expected = value or "Four-One-Five Five-Five-Five Zero-One-Three-Two"
    assert found_as(detector, text, entity_type) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "I took one or two tablets, three times a day",
        "Take two tablets three times daily for five days, then one a day.",
        "one of the two nurses saw three of the four patients",
        "She is twenty-two and has two children, one of them four years old.",
        "one two three four five six seven eight",  # counting
        "count down: nine eight seven six five four three two one",
    ],
)
def test_counts_and_doses_in_words_are_not_numbers(detector: PIIDetector, text: str) -> None:
    assert [
        f for f in detector.detect(text) if f.entity_type in ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD")
    ] == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    digits=st.text("0123456789", min_size=7, max_size=12),
    separators=st.lists(st.sampled_from([" ", ", ", "-", " - ", ". "]), min_size=12, max_size=12),
)
def test_any_spelled_number_of_seven_digits_or_more_is_redacted(
    detector: PIIDetector, digits: str, separators: list[str]
) -> None:
    assume(not is_counting(digits))
    spelled = "".join(WORDS[int(d)] + separators[i] for i, d in enumerate(digits)).rstrip(" ,-.")
    text = f"the number is {spelled} thanks"
    findings = detector.detect(text)
    start = text.index(spelled)
    covered = {i for f in findings if f.score >= 0.5 for i in range(f.start, f.end)}
    assert all(i in covered for i in range(start, start + len(spelled)) if text[i].isalpha()), findings
    assert spelled_digits(spelled) == (digits, len(digits))
