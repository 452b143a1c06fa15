"""FastPhoneRecognizer finds exactly what Presidio's libphonenumber recognizer finds (same regions,
same leniency), though it skips short candidates and remembers verdicts per candidate."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from policies.pii.recognizers_en_phones_cards import FastPhoneRecognizer

REGIONS = ("US", "GB")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_FAST = FastPhoneRecognizer(supported_regions=REGIONS)
_REFERENCE = PhoneRecognizer(supported_regions=REGIONS)


def _spans(recognizer: PhoneRecognizer, text: str) -> list[tuple[int, int]]:
    return sorted((r.start, r.end) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))


def _reference_spans(text: str) -> list[tuple[int, int]]:
    # The same filter FastPhoneRecognizer applies after matching: IPv4 addresses are no phones.
    return [(s, e) for s, e in _spans(_REFERENCE, text) if not _IPV4.fullmatch(text[s:e])]


_PIECES = [
    *("+1 ", "+44 ", "+43 ", "+49 ", "00", "011 ", "(", ")", "-", " ", ".", "/", "x", "ext. "),
    *("call ", "tel:", "a", "$", "%", "€", "é", "中", "mg ", "on 12/03/2024 ", " at 10:30"),
]


def _text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.5:
            parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 11))))
        else:
            parts.append(rng.choice(_PIECES))
    return "".join(parts)


@pytest.mark.parametrize(
    "text",
    [
        "call 415-555-0199 today",
        "+44 20 7946 0958",
        "+43 1234",
        "(415) 555-0100 x12",
        "0207 946 0958",
        "price $4155550199",
        "a4155550199b",
        "10.0.0.1 and 192.168.1.1",
        "dose 500 mg at 10:30, 3 x daily",
        "4155550199 4155550199",
    ],
)
def test_same_matches_as_presidio_on_known_shapes(text: str) -> None:
    assert _spans(_FAST, text) == _reference_spans(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_same_matches_as_presidio_on_random_digit_text(seed: int) -> None:
    text = _text(random.Random(seed))
    assert _spans(_FAST, text) == _reference_spans(text)
    # Asked again, the remembered verdicts give the same answer.
    assert _spans(_FAST, text) == _reference_spans(text)


def test_a_number_seen_again_with_other_text_around_it_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    original = phonenumbers.PhoneNumberMatcher._parse_and_verify

    def counting(self: phonenumbers.PhoneNumberMatcher, candidate: str, offset: int) -> object:
        parsed.append(candidate)
        return original(self, candidate, offset)

    monkeypatch.setattr(phonenumbers.PhoneNumberMatcher, "_parse_and_verify", counting)
    number = "6175550" + str(random.Random().randint(100, 999))  # not parsed by an earlier test
    first = _spans(_FAST, number + " today")
    assert parsed  # parsed for each region
    parsed.clear()
    # The stream filter's second look: the same number, with released text before it.
    again = _spans(_FAST, "please call " + number + " today")
    assert parsed == []
    assert [(s - 12, e - 12) for s, e in again] == first
    # A letter next to the number can change the verdict: that is a new question.
    _spans(_FAST, "x" + number + " today")
    assert parsed
