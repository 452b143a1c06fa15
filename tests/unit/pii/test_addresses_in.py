"""Indian address shapes: a labelled house number (H.No.), a house number and a comma before the
street, Indian street words (Nagar, Marg, Chowk), a PIN code joined to the city by a hyphen, and a
house number on the line above the street."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.heldout_faker_addresses import AddressCase, is_removed


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Please update the address to 247, Tilak Street, Pune-411002.", "247, Tilak Street, Pune-411002"),
        ("Send it to H.No. 44, Kota Chowk, Rampur-244901 by courier.", "H.No. 44, Kota Chowk, Rampur-244901"),
        ("Lives at 94/639, Shetty Marg, Chennai 600041 with her son.", "94/639, Shetty Marg, Chennai 600041"),
        (
            "Home address:\nH.No. 718\nGandhi Nagar\nJalandhar-144001\nPhone on file.",
            "H.No. 718\nGandhi Nagar\nJalandhar-144001",
        ),
    ],
)
def test_the_whole_address_is_removed(detector: PIIDetector, text: str, address: str) -> None:
    start = text.index(address)
    assert is_removed(AddressCase("test", text, start, start + len(address)), detector.detect(text))


@pytest.mark.parametrize(
    "text",
    [
        "In 2019, Main Street was closed for repairs for a month.",
        "Take 2\nOak Street pharmacy closes at six today.",
        "Dose 500, Gandhi Nagar clinic has the stock.",
    ],
)
def test_a_number_and_a_comma_before_a_street_name_is_no_address_alone(
    detector: PIIDetector, text: str
) -> None:
    assert [f for f in detector.detect(text) if f.entity_type == "LOCATION" and f.score >= 0.5] == []
