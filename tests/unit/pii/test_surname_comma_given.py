"""A surname found alone, a comma and an unlisted given name that ends the clause: "Surname, Given"."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import people


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The account holder, Kalvaitis, Žygimantas, disputes the charge.", "Kalvaitis, Žygimantas"),
        ("Thanks, Gaižauskas, Gabrielius", "Gaižauskas, Gabrielius"),
        ("Patient: Akelis, Danielius\nDOB: 1980-02-11", "Akelis, Danielius"),
        ("PATIENT: AKELIS, DANIELIUS\nDOB: 1980-02-11", "AKELIS, DANIELIUS"),
    ],
)
def test_the_given_name_after_a_found_surname_is_part_of_the_name(
    detector: PIIDetector, text: str, name: str
) -> None:
    assert name in people(detector, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ask Dr. Okafor, Metformin is due at noon.", "Okafor"),  # a drug, a common word
        ("Dr. Okafor, Cardiology, will call you.", "Okafor"),
        ("Dr. Okafor, please call the ward.", "Okafor"),
    ],
)
def test_a_word_after_the_comma_is_left_alone(detector: PIIDetector, text: str, name: str) -> None:
    assert people(detector, text) == [name]
