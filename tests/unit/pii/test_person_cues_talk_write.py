"""Talking with someone and writing to someone announce a person; departments and firms stay."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import people


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I spoke with Bale Wario yesterday; she is worried about the biopsy.", "Bale Wario"),
        ("Can you draft a letter to Wage Rahmawati about the missed appointment?", "Wage Rahmawati"),
        ("We met with Quintobe on Monday to go over the statements.", "Quintobe"),
        ("Forward the email from Oyelaran to the billing team.", "Oyelaran"),
    ],
)
def test_a_name_after_talking_or_writing_is_a_person(detector: PIIDetector, text: str, name: str) -> None:
    assert name in people(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "I spoke with Pharmacy about the Metformin supply.",
        "Referred by High Dependency Unit: positive Cullen sign, started Descovy.",
        "Please draft a letter to Cardiology about the waiting list.",
        "We met with Finance on Monday about the Q3 budget.",
    ],
)
def test_departments_after_those_words_are_no_person(detector: PIIDetector, text: str) -> None:
    assert people(detector, text) == []
