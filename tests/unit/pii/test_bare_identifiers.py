"""Bare and broken identifiers: an SSN without dashes, a resident ID with a wrong check character."""

from __future__ import annotations

import random

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.checksums import is_valid_cn_id
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.heldout import cn_id_wrong_check


def _found(detector: PIIDetector, text: str, entity_type: str) -> list[tuple[str, float]]:
    return [(text[f.start : f.end], f.score) for f in detector.detect(text) if f.entity_type == entity_type]


@pytest.mark.parametrize(
    "text",
    [
        "ssn 536221234",
        "social security number 536221234",
        "Social Security No. 536221234 on the claim form",
        "SS# 536221234",
        "member ssn=536221234",
        "The patient's SSN is 536221234, please verify.",
    ],
)
def test_nine_bare_digits_next_to_an_ssn_word_reach_the_request_threshold(
    detector: PIIDetector, pii_policy: PIIPolicy, text: str
) -> None:
    [(value, score)] = _found(detector, text, "US_SSN")
    assert value == "536221234" and score >= pii_policy.profile("default").min_score
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    assert "536221234" not in out["messages"][0]["content"]


def test_request_side_is_at_least_as_sensitive_as_the_answer_side_for_ssns(
    detector: PIIDetector, pii_policy: PIIPolicy
) -> None:
    # The answer filter takes every finding (from 0.3); each profile redacts from its min_score.
    text = "ssn 536221234"
    answer = [f for f in detector.detect_patterns_only(text) if f.entity_type == "US_SSN"]
    assert answer
    for profile in pii_policy.profiles.values():
        assert all(f.score >= profile.min_score for f in answer), profile.name


@pytest.mark.parametrize(
    "text",
    ["order 536221234 shipped", "ssn 000000000", "SSN 999-99-9999", "code 123-45-6789", "ref 666-22-1234"],
)
def test_nine_digits_without_ssn_word_one_digit_repeated_or_never_issued_alone_are_not_ssns(
    detector: PIIDetector, text: str
) -> None:
    assert [s for s in _found(detector, text, "US_SSN") if s[1] >= 0.3] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("SSN 123-45-6789, email jane.parker@mail.com", "123-45-6789"),  # the published sample
        ("ssn 123456789", "123456789"),
        ("ssn 000221234", "000221234"),  # never issued: a typo, or a test value someone calls an SSN
        ("her social is 666-22-1234", "666-22-1234"),
        ("Social Security No. 078-05-1120", "078-05-1120"),
    ],
)
def test_any_nine_digits_the_writer_calls_an_ssn_are_redacted(
    detector: PIIDetector, pii_policy: PIIPolicy, text: str, value: str
) -> None:
    assert _found(detector, text, "US_SSN") == [(value, 0.85)]
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    assert value not in out["messages"][0]["content"]


def test_dashed_ssn_without_context_keeps_its_medium_score(detector: PIIDetector) -> None:
    assert _found(detector, "code 219-09-9999", "US_SSN") == [("219-09-9999", 0.5)]
    assert _found(detector, "SSN 219-09-9999", "US_SSN") == [("219-09-9999", 0.85)]


def test_cn_id_with_wrong_check_character_is_redacted_below_a_valid_one(detector: PIIDetector) -> None:
    rng = random.Random(4)
    for _ in range(20):
        wrong = cn_id_wrong_check(rng)
        assert not is_valid_cn_id(wrong)
        [(value, alone)] = _found(detector, f"编号{wrong}，请核对", "CN_ID_CARD")
        [(_, near_word)] = _found(detector, f"身份证号{wrong}", "CN_ID_CARD")
        assert value == wrong and 0.5 <= alone < near_word < 1.0
    assert _found(detector, "身份证号11010519491231002X", "CN_ID_CARD") == [("11010519491231002X", 1.0)]


@pytest.mark.parametrize(
    "value",
    [
        "110105199913321234",  # month 13
        "110105194902301234",  # 30 February
        "990105194912310021",  # no province 99
        "110105209912310021",  # born in 2099
    ],
)
def test_implausible_18_digit_strings_are_not_resident_ids(detector: PIIDetector, value: str) -> None:
    assert _found(detector, f"身份证号{value}", "CN_ID_CARD") == []
