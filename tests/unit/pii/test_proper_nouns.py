"""Words the dictionary writes only with a capital (places, brands, people no name list holds) are
names beside another name part or a cue, and words alone."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.names_lexicons import FIRST_COMMON, LAST_COMMON, WORD, Classifier, shipped_lexicons
from tests.unit.pii.found import people


def test_the_dictionarys_proper_nouns_are_names_that_are_also_words() -> None:
    lexicons = shipped_lexicons()
    assert {"soyinka", "margrethe", "ramanujan", "tokyo"} <= lexicons.proper
    assert not lexicons.proper & lexicons.words  # shipped apart, not twice
    assert "nigerian" not in lexicons.proper and "ansi" not in lexicons.proper
    classifier = Classifier(lexicons)
    assert classifier.classify("Soyinka") == FIRST_COMMON | LAST_COMMON
    assert classifier.classify("Nigerian") == WORD


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Can you draft a letter to Oluwakemi Soyinka about the missed appointment?", "Oluwakemi Soyinka"),
        ("Patient: Margrethe Nielsen\nDOB: 1980-02-11\nReason: follow-up", "Margrethe Nielsen"),
        ("Referral from Dr. Ramanujan for a cardiology review.", "Ramanujan"),
        ("Transfer approved for Mr Rasputin, reference 20231104.", "Rasputin"),
    ],
)
def test_a_proper_noun_beside_a_name_or_a_cue_is_a_name(detector: PIIDetector, text: str, name: str) -> None:
    assert any(name in found for found in people(detector, text))


@pytest.mark.parametrize(
    "text",
    [
        "Please forward the statement to the Tokyo branch by Friday.",
        "The Parthenon photo is on the ward noticeboard.",  # the model says PERSON; the rules veto it
        "The Metallica album is in the day room.",
        "She flew to Kampala for the conference and is back on Monday.",
    ],
)
def test_a_proper_noun_alone_is_no_name(detector: PIIDetector, text: str) -> None:
    assert people(detector, text) == []
