"""Bank account, routing and sort-code numbers (BANK_ACCOUNT) and passport numbers of any country
(PASSPORT): found right after their word, never on shape alone."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.found import found_as


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Wire it to routing 021000021, account 483920117.", ["021000021", "483920117"]),
        ("Please close acct no. 00123456789 today", ["00123456789"]),
        ("Her account number is 7780-3321-90 at the Elm Street branch", ["7780-3321-90"]),
        ("UK payee: sort code 20-45-77, account 43819925", ["20-45-77", "43819925"]),
        ("A/C 556677889900 was overdrawn twice", ["556677889900"]),
        ("ABA routing number: 121000358", ["121000358"]),
        ("BSB 062-000 account 12345678", ["062-000", "12345678"]),
        ("请把退款打到账号 6217 0012 3456 789 里", ["6217 0012 3456 789"]),
    ],
)
def test_account_routing_and_sort_code_numbers_after_their_word_are_bank_accounts(
    detector: PIIDetector, text: str, values: list[str]
) -> None:
    found = found_as(detector, text, "BANK_ACCOUNT")
    for value in values:
        assert value in found or any(value in f for f in found_as(detector, text, "CREDIT_CARD")), (
            value,
            found,
        )


@pytest.mark.parametrize(
    "text",
    [
        "Account for 3 days of missed doses; creatinine 123456 is impossible",  # filler is not "for"
        "account 2024 statement",  # four digits
        "order 483920117 shipped",  # no account word
        "account 111111111",  # one digit repeated
        "account 1 2 3 4 5 6",  # single digits, a list
        "account opened 20240305",  # a compact date after a verb: not filler
        "the account balance is 1234567.89",  # money, not after filler
    ],
)
def test_numbers_without_an_account_word_right_before_them_are_not_accounts(
    detector: PIIDetector, text: str
) -> None:
    assert found_as(detector, text, "BANK_ACCOUNT") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Jane's passport number is X12345678. What country is this from?", "X12345678"),
        ("passport no: 533380006 (US)", "533380006"),
        ("Her passport (UK) is 533380006 and expires 2031.", "533380006"),  # words in brackets
        ("German passport C01X00T47 expires in May", "C01X00T47"),
        ("Passport # J8369854, issued in Delhi", "J8369854"),
        ("travel document AB123456", "AB123456"),
        ("他的护照号码是 K12345678", "K12345678"),
    ],
)
def test_passport_numbers_after_a_passport_word_are_found(
    detector: PIIDetector, text: str, value: str
) -> None:
    assert found_as(detector, text, "PASSPORT") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "passport photo 2x2 inches",  # no five digits
        "passport expires 2031-05-04",  # a date
        "reference X12345678 on the form",  # no passport word
        "passport E12345678",  # a PRC passport: CN_PASSPORT's
        "passport (see page 2) for details",  # a digit in the brackets: no filler
    ],
)
def test_no_passport_without_the_word_or_with_a_date_or_a_prc_number(
    detector: PIIDetector, text: str
) -> None:
    assert found_as(detector, text, "PASSPORT") == []


def test_a_prc_passport_number_stays_cn_passport(detector: PIIDetector) -> None:
    assert found_as(detector, "passport E12345678", "CN_PASSPORT") == ["E12345678"]


def test_accounts_and_passports_are_pseudonymized_before_the_model_sees_them(
    detector: PIIDetector, pii_policy: PIIPolicy
) -> None:
    text = "Routing 021000021, account 483920117; passport number X12345678."
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    content = out["messages"][0]["content"]
    for value in ("021000021", "483920117", "X12345678"):
        assert value not in content
    assert "[BANK_ACCOUNT_1]" in content and "[BANK_ACCOUNT_2]" in content and "[PASSPORT_1]" in content


def test_answers_lose_account_numbers_too(detector: PIIDetector) -> None:
    text = "The refund went to account 483920117 yesterday."
    assert [
        text[f.start : f.end] for f in detector.detect_patterns_only(text) if f.entity_type == "BANK_ACCOUNT"
    ] == ["483920117"]


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        ("account (savings): 483920117 for the refund", "483920117", "BANK_ACCOUNT"),
        ("account (no. 483920117) closed", "483920117", "BANK_ACCOUNT"),
        ("MRN (Epic) 00482913 on the wristband", "00482913", "MEDICAL_RECORD_NUMBER"),
    ],
)
def test_a_few_words_in_brackets_between_word_and_number_are_filler(
    detector: PIIDetector, text: str, value: str, entity_type: str
) -> None:
    assert found_as(detector, text, entity_type) == [value]
