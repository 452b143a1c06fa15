"""A place word that is a frequent surname ends a name after a listed first name ("Amy Ward");
after anything else it is a place ("Cardiology Ward", "Nightingale Ward")."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import people


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Referral from Tyler Ward for cardiology review.", "Tyler Ward"),
        ("Amy Ward called about the refill and wants a call back.", "Amy Ward"),
        ("AMY WARD CALLED ABOUT THE REFILL.", "AMY WARD"),
    ],
)
def test_a_first_name_and_ward_is_a_person(detector: PIIDetector, text: str, name: str) -> None:
    assert name in people(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Transfer the patient to Cardiology Ward today.",
        "Transfer to Nightingale Ward after the scan.",
        "The Austin Branch opens at nine on Saturdays.",
        "Meet me at the Lincoln Square branch.",
        "Our George Street office is closed for the holiday.",
    ],
)
def test_wards_branches_and_streets_are_places(detector: PIIDetector, text: str) -> None:
    assert people(detector, text) == []
