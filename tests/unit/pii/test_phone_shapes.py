"""Phone shapes that libphonenumber calls invalid are phones next to a phone word; clinical
numbers next to the same words are not."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector


def _phones(detector: PIIDetector, text: str) -> list[str]:
    return [
        text[f.start : f.end]
        for f in detector.detect(text)
        if f.entity_type == "PHONE_NUMBER" and f.score >= 0.5
    ]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        # Area codes 553, 275 and 882 are unassigned: libphonenumber rejects these numbers.
        ("Reach the patient's daughter at 553-504-3135.", "553-504-3135"),
        ("The customer left a callback number, (275) 851-9943.", "(275) 851-9943"),
        ("You can reach him on +1 882 995 6350 during the day.", "+1 882 995 6350"),
        ("Fax the referral to 373.842.8307.", "373.842.8307"),
        ("Her mobile is 06 69 86 33 67, call after 5pm.", "06 69 86 33 67"),
        ("Emergency contact - son, 020 6486 8531", "020 6486 8531"),
        ("Tel: +44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
        ("Best contact number: +49 30 12345678", "+49 30 12345678"),
        ("电话 (021) 3353 1724 转 2", "(021) 3353 1724"),
        ("如有疑问请拨打400-984-7188。", "400-984-7188"),
        ("家属手机：068-25642030，请通知", "068-25642030"),
    ],
)
def test_phone_shape_next_to_a_phone_word_is_a_phone(detector: PIIDetector, text: str, phone: str) -> None:
    assert _phones(detector, text) == [phone]


def test_invalid_phone_shape_without_a_phone_word_is_not_reported(detector: PIIDetector) -> None:
    assert _phones(detector, "Reference 553-504-3135 was closed.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Call back in 2 weeks; metformin 500 mg twice daily, HbA1c 7.2%.",
        "Phone follow-up on 03/05/2024: BP 120/80, ICD-10 E11.9.",
        "Tel visit 2024/03/05, CPT 99213, INR 2.5.",
        "Please call the ward if temperature above 38.5; next review 12.05.2024.",
        "Contact the pharmacy: NDC 0002-1433-80, amoxicillin 875 mg.",
        "Called the family on 20240305 about the 2023-2024 results.",
        "电话随访：血压 120/80 mmHg，复诊日期 2024/03/05。",
    ],
)
def test_clinical_numbers_next_to_phone_words_are_not_phones(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.score >= 0.3] == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Hello! I'm Sarah (sarah.j@techcorp.com, 555-123-4567). I'm 32.", "555-123-4567"),
        ("jane@x.org / 020 7946 0959 thanks", "020 7946 0959"),
        ("555-123-4567 or jane.doe@corp.local", "555-123-4567"),
    ],
)
def test_a_number_listed_next_to_an_e_mail_address_is_a_phone(
    detector: PIIDetector, text: str, number: str
) -> None:
    phones = [text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "PHONE_NUMBER"]
    assert phones == [number]


@pytest.mark.parametrize(
    "text", ["mail jane@x.org, order 20240305 shipped", "email jane@x.org about invoice 4521337 today"]
)
def test_a_number_apart_from_the_e_mail_address_is_not_a_phone(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.entity_type == "PHONE_NUMBER"] == []
