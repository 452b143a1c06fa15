"""Card numbers of every issuer, phones of many countries and driver's licences (issue 18: what a
public corpus the detector was not written for showed it leaving in a request), and the clinical
numbers next to the same words that must stay."""

from __future__ import annotations

import random

import pytest

from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.heldout import (
    PUBLIC_SHAPE_CLASSES,
    clinical_kept,
    generate_public_shapes,
    is_found,
    luhn_complete,
    number_negatives,
    recall_table,
)


def _found(detector: PIIDetector, text: str, entity_type: str, min_score: float = 0.5) -> list[str]:
    return [
        text[f.start : f.end]
        for f in detector.detect(text)
        if f.entity_type == entity_type and f.score >= min_score
    ]


# ----------------------------------------------------------------------------- cards


@pytest.mark.parametrize(
    "card",
    [
        "2623322164608847",  # Mastercard 2-series
        "213176828496175",  # JCB, 15 digits
        "180072992103987",  # JCB 1800, 15 digits
        "501864667909",  # Maestro, 12 digits
        "676222165679",  # Maestro 67, 12 digits
        "2200123456789019",  # Mir
        "6071234567890120",  # RuPay
        "5061001234567890125",  # Verve, 19 digits
        "122000000000003",  # UATP
        "9792 1234 5678 9018",  # Troy, grouped
    ],
)
def test_a_luhn_valid_number_of_any_issuer_is_a_card(detector: PIIDetector, card: str) -> None:
    assert _found(detector, f"What is the limit for card {card}?", "CREDIT_CARD", 0.85) == [card]
    assert _found(detector, f"Need to change billing date of {card}", "CREDIT_CARD") == [card]


def test_a_number_failing_the_luhn_check_is_not_a_card(detector: PIIDetector) -> None:
    assert _found(detector, "What is the limit for card 2623322164608848?", "CREDIT_CARD", 0.3) == []


@pytest.mark.parametrize(
    "text",
    [
        # A Luhn-valid number after a code system's name is the code, not a card.
        f"SNOMED CT {luhn_complete('9990000', 16, random.Random(1))} recorded.",
        f"UDI {luhn_complete('0084458', 14, random.Random(2))} on the implant card",
        # A compact timestamp that happens to pass Luhn.
        "Sample collected 202403051432, results pending.",
        # An IBAN's digits are the IBAN's.
        "IBAN DE89 3704 0044 0532 0130 00 for the refund",
    ],
)
def test_codes_timestamps_and_ibans_are_not_cards(detector: PIIDetector, text: str) -> None:
    assert _found(detector, text, "CREDIT_CARD", 0.3) == []


def test_a_resident_id_next_to_id_card_stays_a_resident_id(detector: PIIDetector) -> None:
    text = "Chinese ID card number 110101199003074510"  # Luhn-valid, a wrong check character
    found = [f for f in detector.detect(text) if f.score >= 0.5]
    assert [f.entity_type for f in found] == ["CN_ID_CARD"]


# ----------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Phone: (37) 788-063", "(37) 788-063"),
        ("416 60 039 office", "416 60 039"),
        ("They're not answering at 71-33-52-22", "71-33-52-22"),
        ("Fax: 345-899-3560x4587", "345-899-3560x4587"),
        ("Desk: (898)666-3621x0135", "(898)666-3621x0135"),
        ("21 253 109 8211-Office", "21 253 109 8211"),
        ("I didn't get any message on my registered 024 971 50 30.", "024 971 50 30"),
        ("Mobile: 0688 872 49 99", "0688 872 49 99"),
        ("Please ring the ward on 8 (495) 123-45-67.", "8 (495) 123-45-67"),
        ("Direct line (555) 201-4477 ext. 12", "(555) 201-4477 ext. 12"),
        ("781 1704 office", "781 1704"),
    ],
)
def test_phone_shapes_of_many_countries_next_to_a_phone_word(
    detector: PIIDetector, text: str, phone: str
) -> None:
    assert _found(detector, text, "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Next of kin: Sofia, +33 6 12 84 55 07", "+33 6 12 84 55 07"),
        ("Desk: +1-903-140-4508x769", "+1-903-140-4508x769"),
        ("Spoke with the husband, 259.735.7502x459, at noon.", "259.735.7502x459"),
    ],
)
def test_a_country_code_or_an_extension_makes_a_phone_without_a_phone_word(
    detector: PIIDetector, text: str, phone: str
) -> None:
    assert _found(detector, text, "PHONE_NUMBER") == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "Called the family: temps 37.58 38.21 37.90, visit on 2024-03-05.",
        "Phone review - platelets 212 x10^9/L; WBC 6.8 x10^9/L.",
        "Office note: sample drawn 08:15:30, follow-up on 12.05.2024.",
        "Message from the lab: NDC 0002-1433-80; lot 4521-88-3321.",
        "Contact the pharmacy about dose 2.5 mg x 7 days; IV 1000 mL x 2.",
        "Desk handover: BP 142/91 mmHg, ratio 1:10000.",
        "Phone the help desk about 192.168.100.200 later",
        "Score +999 1234 5678 in the league table",  # no such country code
    ],
)
def test_clinical_numbers_next_to_phone_words_stay(detector: PIIDetector, text: str) -> None:
    assert _found(detector, text, "PHONE_NUMBER", 0.3) == []


# ----------------------------------------------------------------------------- driver's licences


@pytest.mark.parametrize(
    ("text", "licence"),
    [
        ("My driver's license number is F162823540116", "F162823540116"),
        ("drivers license U62928788557186.", "U62928788557186"),
        ("DL# D123-4567-8901", "D123-4567-8901"),
        ("driving licence MORGA657054SM9IJ (photocard)", "MORGA657054SM9IJ"),
        ("Driver's license: 123 456 789, exp 2029", "123 456 789"),
    ],
)
def test_a_licence_number_after_a_licence_word_is_a_driver_license(
    detector: PIIDetector, text: str, licence: str
) -> None:
    assert _found(detector, text, "DRIVER_LICENSE") == [licence]


@pytest.mark.parametrize(
    "text",
    [
        "Reference F162823540116 was closed.",
        "Driver's license checked; visit on 2024-03-05.",
        "Driver's license on file, HbA1c 7.2%.",
        "glucose 110 mg/dL 2024-03-05",
        "license plate ABC1234",
    ],
)
def test_no_driver_license_without_a_licence_word_and_shape(detector: PIIDetector, text: str) -> None:
    assert _found(detector, text, "DRIVER_LICENSE", 0.3) == []


# ----------------------------------------------------------------------------- generated held-out text

# Another seed than the one docs/benchmarks.md reports.
CASES = generate_public_shapes(per_class=60, seed=1818)
# phone_intl: a fifth of its carriers have no phone word ("not picking up at ..."); only a
# country code or an extension can make those phones.
FLOORS = {"card_any_issuer": 0.98, "phone_intl": 0.9, "driver_license": 0.98}


@pytest.fixture(scope="module")
def findings(detector: PIIDetector) -> list[list[Finding]]:
    return detector.detect_many([case.text for case in CASES])


@pytest.mark.parametrize("cls", sorted(FLOORS))
def test_recall_per_class_on_the_request_side(
    findings: list[list[Finding]], pii_policy: PIIPolicy, cls: str
) -> None:
    table = recall_table(CASES, findings, pii_policy.profile("default").min_score)
    for (name, lang), (hit, total) in table.items():
        if name == cls:
            assert total >= 5 and hit / total >= FLOORS[cls], (cls, lang, hit, total)


def test_the_answer_side_catches_nothing_the_request_side_lets_through(findings: list[list[Finding]]) -> None:
    missed = [
        case.text
        for case, found in zip(CASES, findings, strict=True)
        if is_found(case, found, 0.3) and not is_found(case, found, 0.5)
    ]
    assert missed == []


def test_numbers_next_to_phone_card_and_licence_words_survive(
    detector: PIIDetector, pii_policy: PIIPolicy
) -> None:
    negatives = number_negatives(random.Random(1820), 150)
    body = {"messages": [{"role": "user", "content": n.text} for n in negatives]}
    out, _, _ = redact_chat_body(body, detector, pii_policy.profile("clinical"))
    redacted = [m["content"] for m in out["messages"]]
    assert clinical_kept(negatives, redacted) == len(negatives), [
        (n.text, r) for n, r in zip(negatives, redacted, strict=True) if n.text != r
    ][:5]


def test_generator_covers_every_public_shape_class() -> None:
    assert {case.cls for case in CASES} == set(PUBLIC_SHAPE_CLASSES) == set(FLOORS)
