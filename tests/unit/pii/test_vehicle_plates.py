"""Vehicle plates (VEHICLE_PLATE): Chinese by shape, US only after a plate word."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import Action, PIIPolicy
from policies.pii.redact_body import redact_chat_body


def _plates(detector: PIIDetector, text: str) -> list[str]:
    return [
        text[f.start : f.end]
        for f in detector.detect(text)
        if f.entity_type == "VEHICLE_PLATE" and f.score >= 0.5
    ]


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("车牌号沪A7K3M2", "沪A7K3M2"),
        ("车牌 京A·12345", "京A·12345"),
        ("新能源车粤B D12345停在地库", "粤B D12345"),
        ("他开的是苏E12345来医院", "苏E12345"),  # no plate word: the shape is enough
        ("大车鲁A12345D", "鲁A12345D"),
    ],
)
def test_chinese_plates_are_found_with_or_without_a_plate_word(
    detector: PIIDetector, text: str, plate: str
) -> None:
    assert _plates(detector, text) == [plate]


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("license plate KXR-4821", "KXR-4821"),
        ("plate no. 7ABC123", "7ABC123"),
        ("Tag number: TXK 4410 (Texas)", "TXK 4410"),
        ("The gray Honda in bay 4 has plate 4GHJ521.", "4GHJ521"),
        ("car reg AB12 CDE", "AB12 CDE"),
        ("license plate number is kxr-4821", "kxr-4821"),  # lower case, joined by a hyphen
        ("immatriculation AB-123-CD", "AB-123-CD"),  # France
        ("the immatriculation AB-123-CD is on file.", "AB-123-CD"),  # a word after it is no group
        ("kenteken 12-ABC-3", "12-ABC-3"),  # the Netherlands
        ("Kennzeichen B-MW 1234", "B-MW 1234"),  # Germany
        ("targa AB 123 CD", "AB 123 CD"),  # Italy
        ("matrícula 1234 BCD", "1234 BCD"),  # Spain
        ("vehicle number MH 12 AB 1234", "MH 12 AB 1234"),  # India
    ],
)
def test_us_plates_are_found_after_a_plate_word(detector: PIIDetector, text: str, plate: str) -> None:
    assert _plates(detector, text) == [plate]


@pytest.mark.parametrize(
    "text",
    [
        "Order KXR-4821 shipped",
        "Plate count normal; HbA1c 7.2%; ICD-10 E11.9; Na 138 mmol/L.",
        "Platelets 212 x10^9/L, bone plate 3.5 mm removed.",
        "Reg insulin 10units at night.",
        "registration 2024-01-05 confirmed",  # a date
        "tags in 2024 were fine",  # a lower-case word as a group
        "plate 12 and 13",
        "沪深300指数，川贝枇杷膏 10ml。",
    ],
)
def test_codes_and_clinical_facts_are_not_plates(detector: PIIDetector, text: str) -> None:
    assert _plates(detector, text) == []


def test_plate_gets_its_own_pseudonym_by_default(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    profile = pii_policy.profile("default")
    assert profile.action_for("VEHICLE_PLATE") is Action.PSEUDONYMIZE
    body = {"messages": [{"role": "user", "content": "车牌号沪A7K3M2，license plate KXR-4821"}]}
    out, mapping, _ = redact_chat_body(body, detector, profile)
    assert out["messages"][0]["content"] == "车牌号[VEHICLE_PLATE_1]，license plate [VEHICLE_PLATE_2]"
    assert mapping.token_to_value == {"[VEHICLE_PLATE_1]": "沪A7K3M2", "[VEHICLE_PLATE_2]": "KXR-4821"}
