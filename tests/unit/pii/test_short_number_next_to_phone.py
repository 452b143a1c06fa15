"""A short number written next to a phone number ("room 12 212-736-5000") is not joined into it:
the phone is still found, while obfuscated identifiers are joined as before."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.normalize import normalize


def _phones(detector: PIIDetector, text: str) -> list[tuple[int, int]]:
    return [
        (f.start, f.end) for f in detector.detect(text) if f.entity_type == "PHONE_NUMBER" and f.score >= 0.5
    ]


def _redacted(detector: PIIDetector, text: str, fast: bool = False) -> list[tuple[int, int]]:
    """Spans any finding would redact (a phone with a number after it may read as a card)."""
    found = detector.detect_patterns_only(text) if fast else detector.detect(text)
    return [(f.start, f.end) for f in found if f.score >= 0.5]


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Bed in room 12 212-736-5000 today.", "Bed in room 12 2127365000 today."),
        ("room 12 212 736 5000", "room 12 2127365000"),
        ("room 12 212 736-5000", "room 12 2127365000"),
        ("room 12-212-736-5000", "room 12 2127365000"),
        ("beds 3 12 212.736.5000", "beds 3 12 2127365000"),
        ("called 212-736-5000 12 times", "called 2127365000 12 times"),
        ("bed 4 020 7946 0958", "bed 4 02079460958"),
        ("１２ ２１２－７３６－５０００", "12 2127365000"),
    ],
)
def test_short_number_stays_apart_from_a_grouped_phone(text: str, normalized: str) -> None:
    norm = normalize(text)
    assert norm.text == normalized
    # Offsets still map back: the phone's digits come from the phone in the original text.
    start = normalized.index("2127365000") if "2127365000" in normalized else normalized.index("02079460958")
    length = 10 if "2127365000" in normalized else 11
    ostart, oend = norm.to_original(start, start + length)
    assert "".join(ch for ch in text[ostart:oend] if ch.isdigit()) in (
        "2127365000",
        "02079460958",
        "２１２７３６５０００",
    )


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("+1 212-736-5000", "+12127365000"),  # a country code
        ("room 1 212-736-5000", "room 12127365000"),  # the trunk prefix
        ("+44 20 7946 0958", "+442079460958"),
        ("86 138 1234 5678", "8613812345678"),
        ("5 3 6 2 2 1 2 3 4", "536221234"),
        ("4111 1111 1111 1111", "4111111111111111"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("ssn 536-22-1234", "ssn 536-22-1234"),
    ],
)
def test_numbers_that_are_one_identifier_are_still_joined(text: str, normalized: str) -> None:
    assert normalize(text).text == normalized


def test_the_reported_leak_is_found(detector: PIIDetector) -> None:
    text = "Bed in room 12 212-736-5000 today."
    start = text.index("212")
    assert _covered(_phones(detector, text), start, start + 12)
    assert [
        (f.start, f.end) for f in detector.detect_patterns_only(text) if f.entity_type == "PHONE_NUMBER"
    ] == [(start, start + 12)]


_US_FORMATS = (
    "{a}-{b}-{c}",
    "{a}.{b}.{c}",
    "{a} {b} {c}",
    "{a} {b}-{c}",
    "{a}{b}{c}",
    "({a}) {b}-{c}",
    "+1 {a} {b} {c}",
)
# Area codes libphonenumber knows as assigned (the exchange and line are random).
_AREA_CODES = ("212", "415", "617", "312", "202", "305", "713", "206", "404", "646")


@st.composite
def _phone(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        exchange = draw(st.integers(200, 999))
        line = draw(st.integers(0, 9999))
        fmt = draw(st.sampled_from(_US_FORMATS))
        phone = fmt.format(a=draw(st.sampled_from(_AREA_CODES)), b=f"{exchange}", c=f"{line:04d}")
        region = "US"
    else:
        phone = f"020 7946 {draw(st.integers(0, 999)):04d}"
        region = "GB"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(phone, region)))
    return phone


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    short=st.integers(0, 999).map(str),
    phone=_phone(),
    gap=st.sampled_from([" ", "  ", "-", "/", " - "]),
    template=st.sampled_from(["Bed in room {s}{g}{p} today.", "called {p}{g}{s} times", "Ward {s}{g}{p}"]),
)
def test_a_short_number_next_to_a_phone_never_hides_it(
    detector: PIIDetector, short: str, phone: str, gap: str, template: str
) -> None:
    text = template.format(s=short, g=gap, p=phone)
    start = text.index(phone)
    assert _covered(_redacted(detector, text), start, start + len(phone)), text
    assert _covered(_redacted(detector, text, fast=True), start, start + len(phone)), text
