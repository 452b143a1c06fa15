"""English person names (issue 18): names the small spaCy model tags ORG or misses, in ALL CAPS,
in lower case, with digits for letters, with surnames of many origins; clinical and banking words,
eponyms, places and firms named after people left alone."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.recognizers_names import NameLexicons, PersonNameRecognizer, shipped_lexicons
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.found import people
from tests.unit.pii.names_heldout import (
    CASINGS,
    SOURCES,
    fresh_negatives,
    generate,
    held_out_names,
    is_found,
    negatives,
    person_false_positives,
    recall_table,
)


def with_name_recognizer(detector: PIIDetector, lexicons: NameLexicons | None = None) -> PIIDetector:
    """``detector`` with a PersonNameRecognizer over ``lexicons`` (the shipped ones by default) in
    its registry, in place of one the analyzer may register itself."""
    recognizer = PersonNameRecognizer(lexicons)
    registry = detector._analyzer.registry
    registry.recognizers = [r for r in registry.recognizers if not isinstance(r, PersonNameRecognizer)]
    registry.add_recognizer(recognizer)
    # The detector finds names through its own references too (the NER gate and the name step of
    # its scan): without replacing them the lexicons passed here would never be used.
    detector._names = recognizer
    detector._name_recognizers = tuple(
        recognizer if isinstance(r, PersonNameRecognizer) else r for r in detector._name_recognizers
    )
    return detector


def _registers_names(detector: PIIDetector) -> bool:
    return any(isinstance(r, PersonNameRecognizer) for r in detector._analyzer.registry.recognizers)


@pytest.fixture(scope="module")
def names(detector: PIIDetector, pii_policy: PIIPolicy) -> PIIDetector:
    """The shared detector once the analyzer registers the recognizer; until then one with it added."""
    if _registers_names(detector):
        return detector
    return with_name_recognizer(PIIDetector(pii_policy, cache_key=b"names-test-key-0123456789abcdef0"))


@pytest.fixture(scope="module")
def held_out(pii_policy: PIIPolicy) -> PIIDetector:
    """A detector whose name lexicons lack the held-out tenth of the lists."""
    lexicons = shipped_lexicons().without(held_out_names())
    return with_name_recognizer(
        PIIDetector(pii_policy, cache_key=b"names-held-out-0123456789abcdef0"), lexicons
    )


def _names(detector: PIIDetector, text: str) -> list[str]:
    return people(detector, text)


def test_the_detector_registers_the_name_recognizer(detector: PIIDetector) -> None:
    assert _registers_names(detector), "policies/pii/analyzer.py must add PersonNameRecognizer()"


# ---------------------------------------------------------------- the classes that leaked


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Adeyemi Okafor was seen today for a wound check.", "Adeyemi Okafor"),  # the model: GPE
        ("Adeyemi Nguyen called the branch.", "Adeyemi Nguyen"),  # ORG
        ("Transfer 200 USD to Khoury Lefebvre today.", "Khoury Lefebvre"),  # missed
        ("Wire 300 EUR from Kowalski Yilmaz to Lefebvre Okafor.", "Lefebvre Okafor"),  # GPE
    ],
)
def test_names_the_small_model_tags_as_organisations_or_places_are_found(
    names: PIIDetector, text: str, name: str
) -> None:
    assert name in _names(names, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("john smith called about his statement", "john smith"),
        ("draft a discharge letter for patient maria gonzalez", "maria gonzalez"),
        ("can you explain the results to priya natarajan", "priya natarajan"),
        ("customer tran nguyen disputes a charge", "tran nguyen"),
    ],
)
def test_lower_case_names_are_found(names: PIIDetector, text: str, name: str) -> None:
    assert name in _names(names, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("PATIENT MARIA GONZALEZ, DOB 03/04/1975", "MARIA GONZALEZ"),
        ("SUMMARIZE THE CHART FOR AMARA OKAFOR (SSN 536-22-1234).", "AMARA OKAFOR"),
        ("GONZALEZ, MARIA - ALLERGY TO PENICILLIN", "GONZALEZ, MARIA"),
        ("MR. KHOURY ASKED FOR A MORTGAGE QUOTE", "KHOURY"),
    ],
)
def test_all_caps_names_are_found(names: PIIDetector, text: str, name: str) -> None:
    assert name in _names(names, text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("M4ria G0nzalez was seen today.", "M4ria G0nzalez"),
        ("Summarize the chart for J0hn 5mith.", "J0hn 5mith"),
        ("Transfer to Tr4n Nguy3n's account.", "Tr4n Nguy3n"),
        ("pt 4deyemi 0kafor c/o chest pain", "4deyemi 0kafor"),
    ],
)
def test_digits_written_for_letters_are_read_as_letters(names: PIIDetector, text: str, name: str) -> None:
    assert name in _names(names, text)


@pytest.mark.parametrize(
    "surname",
    ["Tran", "Adeyemi", "Khoury", "Lefebvre", "Nguyen", "Okafor", "Kowalski", "Haddad", "Yilmaz", "Gonzalez"],
)
@pytest.mark.parametrize(
    "template",
    [
        "Dr. {last} asked me to update the care plan.",
        "Please write to Maria {last} about the appointment.",
        "PATIENT ANA {LAST}, DOB 03/04/1975",
        "customer daniel {lower} called twice",
    ],
)
def test_surnames_of_many_origins_are_found(names: PIIDetector, surname: str, template: str) -> None:
    text = template.format(last=surname, LAST=surname.upper(), lower=surname.lower())
    value = next(word for word in (surname, surname.upper(), surname.lower()) if word in text)
    assert any(value in found for found in _names(names, text)), (text, _names(names, text))


def test_a_possessive_stays_outside_the_name_and_offsets_are_the_original_texts(names: PIIDetector) -> None:
    text = "Maria Gonzalez's daughter Ana\u200b will visit M4ria's husband."
    spans = [text[s:e] for s, e, _ in PersonNameRecognizer().find(text)]
    assert spans == ["Maria Gonzalez", "Ana", "M4ria"]
    found = _names(names, text)  # the model may keep the "'s": the name is covered either way
    assert any("Maria Gonzalez" in f for f in found) and "M4ria" in found and "Ana" in found


# ---------------------------------------------------------------- single name parts in person positions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A phrase that introduces a person.
        ("What's your last name? Magnusson", ["Magnusson"]),
        ("Surname: Okonkwo\nWard: 7B", ["Okonkwo"]),
        ("Hi, this is Siobhan from ward 9.", ["Siobhan"]),
        ("Everyone calls me Csanád.", ["Csanád"]),
        ("I would like to remove my kid Lukas from the will.", ["Lukas"]),
        # Lists of people.
        ("The founders: Kónya, Becker and Vasquez.", ["Kónya", "Becker", "Vasquez"]),
        ("Usamov and Bowers were both charged twice.", ["Usamov", "Bowers"]),
        ("they had 3: silvana, kristina and caleb.", ["silvana", "kristina", "caleb"]),
        # Dialogue speaker labels.
        (
            "Ubul: What a wife.\nNicole: Remember me, Mary?",
            ["Ubul", "Nicole"],
        ),
        # An initial between two capitalized words; a name part mentioned again.
        ("Directed By:    Sari J. Paavolainen", ["Sari J. Paavolainen"]),
        (
            "The verses of Faina D. Yefremova. Is there anything like early Yefremova?",
            ["Faina D. Yefremova", "Yefremova"],
        ),
        ("my name is borna jerković but everyone calls me borna", ["borna jerković", "borna"]),
        # Accented Latin words shaped like names.
        ("Esat Jeknić will join the call.", ["Esat Jeknić"]),
    ],
)
def test_names_in_person_positions_lists_and_dialogue_are_found(text: str, expected: list[str]) -> None:
    spans = _RECOGNIZER.find(text)
    found = [text[s:e] for s, e, _ in spans]
    for name in expected:  # every mention of it, inside a finding
        mentions = [m.start() for m in re.finditer(re.escape(name), text)]
        assert all(any(s <= m and m + len(name) <= e for s, e, _ in spans) for m in mentions), (
            name,
            text,
            found,
        )


@pytest.mark.parametrize(
    "text",
    [
        "Plan: Restart Metformin.\nAssessment: Stable.\nHistory: Type 2 diabetes.",
        "Tresiba: 10 units at night\nDupixent: 300 mg every other week",
        "Compare Coutts and Halifax on ISA transfer fees.",
        "Seen in Store Merløse last week, then flown to Coles.",
        "Referred by Interventional Radiology: positive Kaposi sarcoma.",
        "Hi, this is Urgent: the Troponin is back.",
        "Start Lasix, Keppra and Zosyn tonight.",
        "Grace period ends in May and June; Mark the chart.",
    ],
)
def test_list_dialogue_and_intro_rules_leave_clinical_and_banking_words(text: str) -> None:
    assert _RECOGNIZER.find(text) == [], [text[s:e] for s, e, _ in _RECOGNIZER.find(text)]


# ---------------------------------------------------------------- what is not a name


@pytest.mark.parametrize(
    "text",
    [
        "Start Metformin 500 mg and Lasix 40 mg on Monday; Troponin negative.",
        "Seen in the Emergency Department for a Smith fracture; history of Parkinson's disease.",
        "Booked into Fracture Clinic on Friday; Wells score 2, Foley catheter removed.",
        "Will review the Ferritin with Labour Ward after the round.",
        "GRACE PERIOD ENDS IN MAY; MARK THE CHART AS REVIEWED.",
        "patient will be discharged on tuesday, bring the holter monitor",
        "Move 2,000 USD from Premier Savings to the joint account at the Lincoln Square branch.",
        "Is an incoming wire from Raymond James subject to a hold?",
        "Explain the difference between Charles Schwab and Edward Jones brokerage accounts.",
        "Pay with Apple Pay or Zelle; the St. Jude campaign matches gifts in June.",
        "Refer to Johns Hopkins Hospital for the Whipple procedure.",
    ],
)
def test_clinical_and_banking_words_eponyms_and_firms_are_not_names(text: str) -> None:
    recognizer = PersonNameRecognizer()
    assert recognizer.find(text) == [], [text[s:e] for s, e, _ in recognizer.find(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Will Brown be discharged today?", []),  # two common words: not without context
        ("Please ask Will Gonzalez to call back.", ["Will Gonzalez"]),
        ("Her daughter Grace will visit.", ["Grace"]),
        ("patient will be seen by dr. will", []),
        ("Mr. Young and Mrs. White are in bed 4.", ["Young", "White"]),
    ],
)
def test_names_that_are_common_words_need_a_second_part_or_context(text: str, found: list[str]) -> None:
    assert [text[s:e] for s, e, _ in PersonNameRecognizer().find(text)] == found


def test_lexicons_are_read_once_frozen_and_small() -> None:
    lexicons = shipped_lexicons()
    assert shipped_lexicons() is lexicons
    assert isinstance(lexicons.first, frozenset) and isinstance(lexicons.last, frozenset)
    assert len(lexicons.first) > 30_000 and len(lexicons.last) > 150_000
    assert {"will", "grace"} <= lexicons.first_common and "maria" in lexicons.first
    assert {"brown", "long"} <= lexicons.last_common and "gonzalez" in lexicons.last
    assert not lexicons.words & (lexicons.first | lexicons.last)


# ---------------------------------------------------------------- held-out recall and precision

# Another seed than the one docs/benchmarks.md reports.
CASES = generate(per_class=40, seed=1818)
FLOORS = {
    # Names in the lexicons, in any template.
    ("listed", "title"): 0.97,
    ("listed", "upper"): 0.97,
    ("listed", "lower"): 0.95,
    # 37/40 with the 56 templates ("J1 Kachelm3ier", "1a She3tz" left); 36/40 with the 74 (digits in
    # a particle, "d3 Feath3r5tone"; common words "Cap7ain 1eg4rd", "N3ph3w"; the code before them: 33/40).
    ("listed", "leet"): 0.9,
    ("many_origins", "title"): 0.97,
    ("many_origins", "upper"): 0.95,
    ("many_origins", "lower"): 0.9,
    ("many_origins", "leet"): 0.92,
}
# Names the lexicons do not hold (measured with the held-out tenth removed from them).
# Title Case: 37/40 with the 74 templates (a three-letter "Orn, could you...", "Brentton had given"
# unlisted; the code before the prose shapes: 34/40).
HELD_OUT_FLOORS = {"title": 0.92, "upper": 0.82, "lower": 0.65, "leet": 0.82}


@pytest.fixture(scope="module")
def findings(names: PIIDetector) -> list[list[object]]:
    return names.detect_many([case.text for case in CASES])  # type: ignore[return-value]


@pytest.mark.parametrize(("source", "casing"), sorted(FLOORS))
def test_recall_of_listed_names_per_casing(findings, source: str, casing: str) -> None:
    hit, total = recall_table(CASES, findings, 0.5)[(source, casing)]
    assert hit / total >= FLOORS[(source, casing)], (
        source,
        casing,
        hit,
        total,
        _misses(findings, source, casing),
    )


@pytest.mark.parametrize("casing", CASINGS)
def test_recall_of_names_the_lexicons_do_not_hold(held_out: PIIDetector, casing: str) -> None:
    cases = [c for c in CASES if c.source == "held_out" and c.casing == casing]
    found = held_out.detect_many([c.text for c in cases])
    hits = sum(is_found(c, f, 0.5) for c, f in zip(cases, found, strict=True))  # type: ignore[arg-type]
    assert hits / len(cases) >= HELD_OUT_FLOORS[casing], (casing, hits, len(cases))


def test_clinical_and_banking_sentences_keep_their_words(names: PIIDetector, pii_policy: PIIPolicy) -> None:
    sentences = negatives(random.Random(1819), 300)
    recognizer = PersonNameRecognizer()
    wrong = [s.text[a:b] for s in sentences for a, b, _ in recognizer.find(s.text)]
    assert len(wrong) <= 3, wrong
    # Through the whole detector (spaCy included), no more sentences lose a word than before.
    body = {"messages": [{"role": "user", "content": s.text} for s in sentences]}
    out, _, _ = redact_chat_body(body, names, pii_policy.profile("clinical"))
    changed = [s.text for s, m in zip(sentences, out["messages"], strict=True) if m["content"] != s.text]
    found = names.detect_many([s.text for s in sentences])
    assert len(changed) <= 0.12 * len(sentences), person_false_positives(sentences, found)[:10]


def test_clinical_words_the_rules_were_never_tuned_on_are_not_names() -> None:
    # New drugs, tests, departments and eponyms; banking sentences there name firms such as
    # "Charles Stanley" or "Janus Henderson", which read as a first name and a surname (a known gap).
    sentences = [s for s in fresh_negatives(random.Random(1820), 300) if s.domain == "clinical"]
    wrong = [(s.text[a:b], s.text) for s in sentences for a, b, _ in _RECOGNIZER.find(s.text)]
    assert wrong == []


def test_the_generator_covers_every_source_and_casing() -> None:
    assert {(c.source, c.casing) for c in CASES} == {(s, c) for s in SOURCES for c in CASINGS}
    assert len({t for c in CASES for t in [c.text]}) > 0.9 * len(CASES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.sampled_from(["Maria", "John", "Priya", "Amara", "Thanh", "Dmitri", "Fatima", "Kwame"]),
    last=st.sampled_from(["Gonzalez", "Smith", "Nguyen", "Okafor", "Kowalski", "Haddad", "Lefebvre"]),
    casing=st.sampled_from(["title", "upper", "lower"]),
    template=st.sampled_from(
        [
            "Summarize the chart for {n} (SSN 536-22-1234).",
            "{n} was admitted overnight.",
            "Please send {n}'s statement by post.",
            "Attendees: {n} and the charge nurse.",
        ]
    ),
)
def test_listed_first_and_last_names_are_found_in_any_casing(
    first: str, last: str, casing: str, template: str
) -> None:
    name = f"{first} {last}"
    text = template.format(n=name)
    if casing == "upper":
        text, name = text.upper(), name.upper()
    elif casing == "lower":
        text, name = text.lower(), name.lower()
    spans = [text[s:e] for s, e, _ in _RECOGNIZER.find(text)]
    assert name in spans, (text, spans)


_RECOGNIZER = PersonNameRecognizer()


def _misses(findings, source: str, casing: str) -> list[str]:
    return [
        c.value
        for c, f in zip(CASES, findings, strict=True)
        if c.source == source and c.casing == casing and not is_found(c, f, 0.5)
    ][:5]
