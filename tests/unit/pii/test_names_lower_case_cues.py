"""Lower-case and all-capital names after a form's name field, a person cue, a caller's "this is
... from" or a list of people: casing says nothing there, the cue does. Departments after "seen
by", weekdays after "meet" and words in a list of roles stay words."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.names_lexicons import UNKNOWN, WORD, Classifier, shipped_lexicons
from policies.pii.recognizers_names import PersonNameRecognizer
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


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # Two words no list knows, in lower case, after a word that takes a person ("to", "for").
        ("can you explain these lab results to zeyvora plinkett in plain language?", "zeyvora plinkett"),
        ("write a sick note for kelvaro dunquist, off work until monday", "kelvaro dunquist"),
        # The verbs done, and a copula: "reviewed ...", "bed 12 is ...".
        ("reviewed kelvaro dunquist on the ward round; plan for discharge", "kelvaro dunquist"),
        ("handover: bed 12 is zeyvora plinkett, post-op day 2, obs stable", "zeyvora plinkett"),
    ],
)
def test_unlisted_names_in_one_casing_after_a_person_word(
    detector: PIIDetector, text: str, name: str
) -> None:
    assert name in people(detector, text)


def test_a_common_first_name_then_an_unlisted_word_in_capitals_after_a_person_word() -> None:
    """The rules alone (the model may or may not see it): as "to Sandy Sprenkel" in title case."""
    text = "WHY WAS THE WIRE TO SOLACE ZORVELLI FLAGGED FOR REVIEW?"
    assert [text[s:e] for s, e, _ in PersonNameRecognizer().find(text)] == ["SOLACE ZORVELLI"]


def test_a_d_ending_strips_only_after_an_e() -> None:
    """ "agreed" and "hoped" are words; "bowlds" (an unlisted surname here) is no form of "bowl"."""
    classifier = Classifier(shipped_lexicons().without(frozenset({"bowlds"})))
    assert classifier.classify("agreed") == WORD
    assert classifier.classify("hoped") == WORD
    assert classifier.classify("bowlds") == UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "send the referral to cerner mychart today",  # hospital software
        "switch to atorvastatin rosuvastatin if not tolerated",  # drugs
        "the results were sent to the ward and the clinic",
        "I am sending the form to nephrology outpatients",
        "PLEASE SEND IT TO GRACE PERIOD REVIEW",  # a common first name, then words
        "the dose is metoprolol succinate once daily",
        "handover: bed 12 is tachycardic, afebrile and normotensive",  # clinical words
        "the locum reviewed telehealth contactless chargeback requests",
    ],
)
def test_words_drugs_and_software_after_a_person_word_stay_words(detector: PIIDetector, text: str) -> None:
    assert people(detector, text) == []


@pytest.mark.parametrize(
    "word",
    [
        *("Cortisol", "Aldosterone", "Ceruloplasmin", "Urobilinogen", "Prothrombin"),  # analytes
        *("handover", "TACHYCARDIC", "afebrile", "cannula", "locum"),  # ward words
        *("chargeback", "contactless", "MyChart", "Cerner"),  # banking words, hospital software
    ],
)
def test_clinical_and_banking_words_no_dictionary_has_are_clinical_terms(word: str) -> None:
    """Words the dictionary lacks ("Cortisol 540 nmol/L", "handover: bed 12") would otherwise look
    like unlisted names."""
    assert Classifier(shipped_lexicons()).classify(word) == WORD


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("spragg, margeart - card replacement request", "spragg, margeart"),  # neither listed
        ("ZORVELLI, KELVARO - ALLERGY TO PENICILLIN", "ZORVELLI, KELVARO"),
        ("dines, bianca - allergy to penicillin", "dines, bianca"),  # a surname that is also a word
    ],
)
def test_a_line_opening_surname_comma_given_dash_subject(text: str, name: str) -> None:
    """The rules alone: "Surname, Given - subject" at the start of a line, in one casing."""
    assert [text[s:e] for s, e, _ in PersonNameRecognizer().find(text)] == [name]


@pytest.mark.parametrize(
    "text",
    [
        "yes, please - send it today",
        "note, however - the dose was halved",
        "metformin, gliclazide - continue both",
        "cardiology, nephrology - review on friday",
        "ok, ta - done",
    ],
)
def test_words_before_a_comma_and_a_dash_are_no_inverted_name(text: str) -> None:
    assert PersonNameRecognizer().find(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("zofia: is my mum's bed ready yet?", "zofia"),  # a listed first name, in lower case
        ("Oyinlola: thanks for the update on the refund", "Oyinlola"),  # unlisted, capitalized
        ("> MARIA: CAN YOU CALL ME BACK?", "MARIA"),
    ],
)
def test_a_single_speaker_label_is_a_name(text: str, name: str) -> None:
    """One speaker is enough when the label is a first name no dictionary has as a word."""
    assert [text[s:e] for s, e, _ in PersonNameRecognizer().find(text)] == [name]


@pytest.mark.parametrize(
    "text",
    [
        "plan: discharge tomorrow",
        "Impression: stable, no acute change",
        "ana: positive at 1:160",  # a test's name
        "lily: the ward is calm",  # a first name that is also a word needs two speakers
        "maria: 120/80",
    ],
)
def test_labels_tests_and_common_words_before_a_colon_are_no_speaker(text: str) -> None:
    assert PersonNameRecognizer().find(text) == []
