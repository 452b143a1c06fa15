"""Person names in prose with no title or person word (issue 18, public corpus misses): a lone first
name, a name before what only people do, "said A to B", particles, lists, firms named after people.

The names and sentences are written here, not drawn from the lexicons; a rule that needs a listed
name says so, and the test checks that the name is listed so that it fails loudly, not silently,
if the lists change.
"""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.recognizers_address_en import StreetAddressRecognizer
from policies.pii.recognizers_names import FIRST, PersonNameRecognizer, shipped_lexicons

_RECOGNIZER = PersonNameRecognizer()


def _names(text: str, places: tuple[str, ...] = ()) -> list[str]:
    """What the recognizer finds; ``places`` are words the model labelled a place."""
    place_spans = [(text.index(p), text.index(p) + len(p)) for p in places]
    return [text[s:e] for s, e, _ in _RECOGNIZER.find(text, (), (), place_spans)]


# First names that are no common English word, and so count alone.
LONE_FIRST = ["Rebecca", "Jonathan", "Priscilla", "Dominic", "Bartholomew", "Gwendolyn"]


def test_the_lone_first_names_used_here_are_listed_first_names() -> None:
    lexicons = shipped_lexicons()
    assert all(name.lower() in lexicons.first for name in LONE_FIRST)


@pytest.mark.parametrize("name", LONE_FIRST)
@pytest.mark.parametrize(
    "template",
    [
        "Why is {} so quiet today?",
        "Could you check whether {} can come in at noon?",
        "{}, can I ask you something about the bill?",
        "It was a done thing between him and {}'s kid.",
        "I lent my umbrella to {} yesterday.",
    ],
)
def test_a_listed_first_name_alone_is_a_name(name: str, template: str) -> None:
    assert _names(template.format(name)) == [name]


@pytest.mark.parametrize(
    "text",
    [
        "We moved here from Kenosha last spring.",
        "She flew to Victoria on Monday.",
        "The meeting is in Florence this year.",
        "He grew up in the city Savannah.",
        "Results from Nera Economic Consulting arrived.",
        "She is studying English and journalism.",
        "The Princess Royal arrived at the station.",
    ],
)
def test_a_lone_word_where_a_place_firm_or_language_stands_is_no_name(text: str) -> None:
    assert _names(text, places=("English",) if "English" in text else ()) == []


def test_a_lone_first_name_the_model_calls_a_landmark_is_no_name() -> None:
    assert _names("Meet me at Jordan tomorrow", places=("Jordan",)) == []
    assert _names("Please ask Jordan tomorrow", places=("Jordan",)) == []


@pytest.mark.parametrize("name", ["Tsegaye", "Oyinlola", "Zwelakhe", "Kirsikka"])
@pytest.mark.parametrize(
    "template",
    [
        "{} lives on the third floor with her aunt.",
        "{} began writing as a teenager.",
        "{} grew up near the harbour.",
        "Unlike the {} novel, this one is short.",
    ],
)
def test_an_unlisted_word_before_what_only_people_do_is_a_name(name: str, template: str) -> None:
    assert _names(template.format(name)) == [name]


@pytest.mark.parametrize(
    "text",
    [
        "Ozempic is very expensive this month.",
        "Unlike the Zantrex tablet, this one is small.",
        "Brilinta was started yesterday.",
    ],
)
def test_an_unlisted_word_without_a_person_verb_stays(text: str) -> None:
    assert _names(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm so glad! said Ottilie to Bartholomew", ["Ottilie", "Bartholomew"]),
        ("Annelies van Woerkom will chair the meeting.", ["Annelies van Woerkom"]),
        ("Please ask Joana da Silveira to sign.", ["Joana da Silveira"]),
        ("Oyelaran and Brown were on call last night.", ["Oyelaran", "Brown"]),
        ("they had 4: rebecca, tobias, nkechi and dominic.", ["rebecca", "tobias", "nkechi", "dominic"]),
        ("> Tsegaye Woldemariam\n> 12 Kestrel Street\n", ["Tsegaye Woldemariam"]),
    ],
)
def test_names_in_quotes_particles_lists_and_address_blocks_are_found(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The home city Villafranca del Cid is small.",
        "We drove to Rio de Janeiro in May.",
        "apples, pears, plums and figs were on the table.",
        "The Jones, Smith and Davis Orchestra played on Sunday.",
        "Thornbury, Aldous and Pike LLP sent the invoice.",
        "Metformin and Lisinopril were started.",
    ],
)
def test_places_with_particles_word_lists_and_firms_of_names_are_no_names(text: str) -> None:
    assert _names(text, places=("Rio de Janeiro",) if "Rio" in text else ()) == []


def test_a_model_person_span_inside_a_firm_of_names_is_rejected() -> None:
    text = "The Clark, Romero and Hall Orchestra was founded in 1973."
    for word in ("Clark", "Romero"):
        start = text.index(word)
        assert _RECOGNIZER.rejects(text, start, start + len(word))
    text = "Clark, Romero and Hall were on the ward."
    assert not _RECOGNIZER.rejects(text, 0, len("Clark"))


def test_an_inverted_name_is_not_read_inside_a_list_of_first_names() -> None:
    text = "invite: oyinlola, matthew, priscilla and jonathan."
    assert _names(text) == ["oyinlola", "matthew", "priscilla", "jonathan"]
    assert _names("Gonzalez, Maria presented with chest pain.") == ["Gonzalez, Maria"]


def test_a_lone_first_name_flag_is_what_the_rule_reads() -> None:
    # "Rebecca" counts alone because it is a listed first name that is no common word; a common word
    # that is a first name ("Will", "Grace") does not.
    assert _RECOGNIZER._classifier is not None
    assert _RECOGNIZER._classifier.classify("rebecca") & FIRST
    assert _names("Why is Grace so important here?") == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Please return it to Birch and Kestrelvej 12 if unclaimed.", "Birch and Kestrelvej 12"),
        ("New address: Maple and Lindenstrasse 4", "Maple and Lindenstrasse 4"),
        ("Can you validate the following? Alder and Søndergade 52", "Alder and Søndergade 52"),
    ],
)
def test_a_corner_before_a_street_line_is_part_of_the_address(text: str, address: str) -> None:
    results = StreetAddressRecognizer().analyze(text, ["LOCATION"])
    assert [text[r.start : r.end] for r in results] == [address]


@pytest.mark.parametrize(
    "text",
    [
        "Take Tylenol and Ibuprofen 400 twice daily.",
        "Seen by Maria and Ward 7 staff today.",
    ],
)
def test_a_name_and_a_non_address_after_and_is_no_corner(text: str) -> None:
    assert StreetAddressRecognizer().analyze(text, ["LOCATION"]) == []


def test_the_detector_finds_a_lone_first_name_through_the_model(detector: PIIDetector) -> None:
    # The small model labels this lone name a GPE; the lexicon decides.
    text = "Why is Rebecca so impulsive?"
    spans = [
        text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "PERSON" and f.score >= 0.5
    ]
    assert spans == ["Rebecca"]
