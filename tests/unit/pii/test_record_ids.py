"""Medical record, health plan and national identity numbers and card security codes, each right
after the word that names it; clinical values next to the same words stay."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.found import found_as


@pytest.mark.parametrize(
    ("text", "entity_type", "value"),
    [
        ("MRN: 1234567, admitted for chest pain", "MEDICAL_RECORD_NUMBER", "1234567"),
        ("MRN 12345678 admitted overnight", "MEDICAL_RECORD_NUMBER", "12345678"),
        ("Hospital number H1234567 on the wristband", "MEDICAL_RECORD_NUMBER", "H1234567"),
        ("Patient NHS number 943 476 5919, please check", "MEDICAL_RECORD_NUMBER", "943 476 5919"),
        ("病历号 20231105 的患者", "MEDICAL_RECORD_NUMBER", "20231105"),
        ("member ID W123456789 on the insurance card", "INSURANCE_ID", "W123456789"),
        ("policy number POL-88231945 was cancelled", "INSURANCE_ID", "POL-88231945"),
        ("Medicare number 1EG4-TE5-MK73 for the claim", "INSURANCE_ID", "1EG4-TE5-MK73"),
        ("Medicare Beneficiary Identifier 1EG4TE5MK73 active", "INSURANCE_ID", "1EG4TE5MK73"),
        ("license #D1234567 from CA", "DRIVER_LICENSE", "D1234567"),
        ("DOB 3-Mar-1975 verified", "DATE_TIME", "3-Mar-1975"),
        ("date of birth: Mar-03-1975", "DATE_TIME", "Mar-03-1975"),
        ("born 1975/Mar/03 in Leeds", "DATE_TIME", "1975/Mar/03"),
        ("D.O.B. 03 Mar. 75", "DATE_TIME", "03 Mar. 75"),
        ("NI number AB123456C on the payslip", "NATIONAL_ID", "AB123456C"),
        ("National Insurance number QQ 12 34 56 C", "NATIONAL_ID", "QQ 12 34 56 C"),
        ("His SIN is 046 454 286 for the tax form", "NATIONAL_ID", "046 454 286"),
        ("PAN card ABCPE1234F for KYC", "NATIONAL_ID", "ABCPE1234F"),
        ("Tax ID 12-3456789 for the business owner", "NATIONAL_ID", "12-3456789"),
        ("Please update the NIF on file to 02950211R.", "NATIONAL_ID", "02950211R"),
        ("CPF 580.938.096-43 do cliente", "NATIONAL_ID", "580.938.096-43"),
        ("codice fiscale MRCBNC92L16B656M", "NATIONAL_ID", "MRCBNC92L16B656M"),
        ("personnummer 871009-3108", "NATIONAL_ID", "871009-3108"),
        ("Card ending 4242, exp 12/27, CVV 123", "CREDIT_CARD", "123"),
        ("security code: 7391", "CREDIT_CARD", "7391"),
        ("VIN 1HGCM82633A004352 for the claim", "VEHICLE_ID", "1HGCM82633A004352"),
        ("employee ID 00481923 in HR", "PERSONAL_ID", "00481923"),
        ("Customer number: CN-7731902, branch Leeds", "PERSONAL_ID", "CN-7731902"),
        ("员工工号 A0012345 的考勤", "PERSONAL_ID", "A0012345"),
        ("车架号：LSVAU2180N2183294，请核对", "VEHICLE_ID", "LSVAU2180N2183294"),
    ],
)
def test_identifiers_after_their_word_are_found(
    detector: PIIDetector, text: str, entity_type: str, value: str
) -> None:
    assert value in found_as(detector, text, entity_type)


@pytest.mark.parametrize(
    "text",
    [
        "MRN pending; patient ID band checked at 10:30",
        "Medicare 2024 changes apply from April",
        "policy number of cycles is 4",
        "PAN 4 mg given; sin 30 degrees",
        "record number 12 in the audit",
        "tin 2 ml, pan-sensitive organism",
        "The patient's ID number is on the wristband.",
        "CVV check failed twice",
        "national insurance contributions rose 2% in 2024",
        "Tax ID changes on 2024-04-06",
        "VIN check pending, no chassis number on the form",
        "customer number 3 in the queue; staff ID badge lost",
    ],
)
def test_clinical_and_banking_prose_next_to_the_words_keeps_its_numbers(
    detector: PIIDetector, text: str
) -> None:
    for entity_type in ("MEDICAL_RECORD_NUMBER", "INSURANCE_ID", "NATIONAL_ID", "VEHICLE_ID", "PERSONAL_ID"):
        assert found_as(detector, text, entity_type) == [], entity_type
    assert [f for f in detector.detect(text) if f.entity_type == "CREDIT_CARD"] == []


def test_record_numbers_never_reach_the_model(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    text = "MRN 12345678, member ID W123456789, NI number AB123456C, CVV 123."
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("default")
    )
    content = out["messages"][0]["content"]
    for value in ("12345678", "W123456789", "AB123456C", "123."):
        assert value not in content, value
    for token in ("[MEDICAL_RECORD_NUMBER_1]", "[INSURANCE_ID_1]", "[NATIONAL_ID_1]", "[CREDIT_CARD_1]"):
        assert token in content


def test_a_masked_security_code_shows_no_digit(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    text = "Card 4111 1111 1111 1111, CVV 123"
    out, _, _ = redact_chat_body(
        {"messages": [{"role": "user", "content": text}]}, detector, pii_policy.profile("banking")
    )
    content = out["messages"][0]["content"]
    assert "123" not in content.replace("1111", "") and content.endswith("CVV ***")
