"""Lower-case and all-capital names after a form's name field, a person cue, a caller's "this is
... from" or a list of people: casing says nothing there, the cue does. Departments after "seen
by", weekdays after "meet" and words in a list of roles stay words."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.found import people


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("surname: majestic\nward: 7b\nconsultant on call", "majestic"),  # a word, but in the name field
        ("first name: ray\naccount: 44718822\nreason: moving abroad", "ray"),
        ("surname: ólafsdóttir / ward: 7b", "ólafsdóttir"),
        ("last name = okonkwo, first name = chidi", "okonkwo"),
        ('"the pain is worse at night," explained chebet.', "chebet"),
        ('"i never authorised that payment," insisted oyinlola.', "oyinlola"),
        ("my daughter tanisha will collect the prescription", "tanisha"),
        ("this is yassmine from ward 9, calling about the bed in bay 4.", "yassmine"),
        ("THIS IS LYNETT FROM WARD 9, CALLING ABOUT THE BED IN BAY 4.", "LYNETT"),
        ("the surgical team: buras, broussard and the registrar.", "buras"),
        ("THE SURGICAL TEAM: BURT, RUBIO AND THE REGISTRAR.", "RUBIO"),
    ],
)
def test_a_lower_case_name_after_its_cue_is_a_name(detector: PIIDetector, text: str, name: str) -> None:
    assert any(name in found for found in people(detector, text))


@pytest.mark.parametrize(
    "text",
    [
        "seen by ortho on the ward round, plan to mobilise",
        "reviewed by physio today; name: n/a on the form",
        "first name: unknown\nsurname: unknown",
        "name: the patient declined to give it",
        "We'll meet Tuesday at the clinic, 4 Oak Lane",  # "meet" is no caller naming themself
        "this is important from a billing point of view",
        "the surgical team: nurses, doctors and the registrar.",
    ],
)
def test_departments_and_placeholders_after_the_cues_are_not_names(detector: PIIDetector, text: str) -> None:
    assert people(detector, text) == []
