"""In answers only the tokens this request issued are tokens: kept (or restored for pii:unmask) and
never shown to the detector. Any other token shape is text, scanned like the rest of the answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from policies.output.config import CompiledRules
from policies.output.stream_filter import Span, StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy

from .conftest import TEST_MAX_ENTITY_LEN, regex_detector, run_chunks, split_at

ISSUED = {"[PERSON_1]": "Alice Zhang", "[PHONE_NUMBER_1]": "+1 415 555 0100"}


@pytest.fixture(scope="module")
def real_detector() -> PIIDetector:
    return PIIDetector(load_default_pii_policy(), cache_key=b"t" * 32, cache_entries=100)


def _stream_filter(rules: CompiledRules, detector: PIIDetector, unmask: bool) -> StreamFilter:
    """As the gateway streams: the pattern recognizers, the request's map only for unmask."""
    return StreamFilter(
        rules,
        ISSUED if unmask else None,
        detector=detector.detect_patterns_only,
        max_entity_len=detector.max_pattern_length,
    )


SMUGGLED = [
    ("Card [REDACTED:4111-1111-1111-1111] is on file.", "4111"),
    ("Card [REDACTED_4111111111111111] is on file.", "4111"),
    ("Card [X4111111111111111_1] is on file.", "4111"),
    ("SSN [SSN_536-22-1234] is on file.", "536"),
]


@pytest.mark.parametrize(("text", "digits"), SMUGGLED)
@pytest.mark.parametrize("unmask", [False, True])
def test_a_value_wrapped_in_a_token_shape_never_reaches_the_client(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, digits: str, unmask: bool
) -> None:
    for chunks in ([text], list(text), split_at(text, [8, 19, 27])):
        out = run_chunks(_stream_filter(analyst_rules, real_detector, unmask), chunks)
        assert digits not in out, (chunks, out)
        assert "[REDACTED_" in out


@pytest.mark.parametrize("unmask", [False, True])
def test_issued_tokens_are_kept_or_restored_and_others_stay_text(
    analyst_rules: CompiledRules, unmask: bool
) -> None:
    seen: list[str] = []

    def detector(text: str) -> Sequence[Span]:
        seen.append(text)
        return regex_detector(text)

    filt = StreamFilter(
        analyst_rules,
        ISSUED if unmask else None,
        detector=detector,
        max_entity_len=TEST_MAX_ENTITY_LEN,
        issued_tokens=ISSUED,
    )
    text = "Ask [PERSON_1] and [PERSON_2] to ring [PHONE_NUMBER_1] or 415-555-0199 today."
    out = run_chunks(filt, [text])
    name, phone = ("Alice Zhang", "+1 415 555 0100") if unmask else ("[PERSON_1]", "[PHONE_NUMBER_1]")
    assert out == f"Ask {name} and [PERSON_2] to ring {phone} or [REDACTED_PHONE_NUMBER] today."
    # The detector saw the token this request did not issue, never an issued one.
    assert any("[PERSON_2]" in s for s in seen)
    assert not any("PERSON_1" in s or "PHONE_NUMBER_1" in s for s in seen)


@pytest.mark.parametrize(
    "forged",
    [
        "[PERSON_2]",
        "[PERSON_10]",
        "[PERSON_01]",
        "[XPERSON_1]",
        "PERSON_1234567",
        "[PERSON_1_]",
        "[PERSONS_1]",
    ],
)
def test_a_token_the_request_did_not_issue_unmasks_nothing(analyst_rules: CompiledRules, forged: str) -> None:
    filt = StreamFilter(analyst_rules, ISSUED)
    out = run_chunks(filt, list(f"Hello {forged}!"))
    assert out == f"Hello {forged}!"
    assert "Alice" not in out and filt.decisions == []


def test_without_issued_tokens_every_token_shape_is_text(analyst_rules: CompiledRules) -> None:
    seen: list[str] = []

    def detector(text: str) -> Sequence[Span]:
        seen.append(text)
        return []

    filt = StreamFilter(analyst_rules, None, detector=detector, max_entity_len=TEST_MAX_ENTITY_LEN)
    assert run_chunks(filt, ["Dear [PERSON_1], your MRN [MRN_1234567] is ready."]) == (
        "Dear [PERSON_1], your MRN [MRN_1234567] is ready."
    )
    assert "[MRN_1234567]" in "".join(seen)
