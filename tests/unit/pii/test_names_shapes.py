"""Person names by their place in English prose (issue 18, third pass): vocatives, speakers of
verbs of speech, traits said of a person, role labels, authors of a work, particles after a title,
initials, and the same shapes in capitals and lower case. The names are written here; most are in
no shipped list, so the rules must find them by shape."""

from __future__ import annotations

import pytest

from policies.pii.recognizers_names import PersonNameRecognizer

_RECOGNIZER = PersonNameRecognizer()


def _names(text: str) -> list[str]:
    return [text[s:e] for s, e, _ in _RECOGNIZER.find(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # Vocatives: the person spoken to opens the request.
        ("Tsegaye, could you check the INR before the next dose?", "Tsegaye"),
        ("Chebet, please call the ward when you can.", "Chebet"),
        ("OKONKWO, CAN YOU CONFIRM THE PAYEE?", "OKONKWO"),
        ("okonkwo, can you confirm the payee?", "okonkwo"),
        # Speakers of verbs of speech, before or after the name.
        ('"The pain is worse at night," explained Zwelakhe.', "Zwelakhe"),
        ('"I never authorised that payment," insisted Oyinlola.', "Oyinlola"),
        ("Kirsikka explained that the pain started after the fall.", "Kirsikka"),
        ("TSEGAYE EXPLAINED THAT THE PAIN STARTED AFTER THE FALL.", "TSEGAYE"),
        ("Oyelaran will call back after lunch.", "Oyelaran"),
        # A trait said of the name, or asked about.
        ("Boateng is very anxious about the surgery tomorrow.", "Boateng"),
        ("Mwangi has always been very polite on the phone.", "Mwangi"),
        ("Why is Natalya so agitated this morning?", "Natalya"),
        ("why is shovda so agitated this morning?", "shovda"),
        # Role labels and who did what.
        ("Nurse in charge: Okoro\nBeds open: 3", "Okoro"),
        ("Seen by: Dlamini\nPlan: repeat bloods", "Dlamini"),
        ("Relationship manager on duty: Haddad", "Haddad"),
        # The author of a work.
        ("This song by ex-Zombie Kirsikka is a perfect example.", "Kirsikka"),
        # A listed first name opening a sentence before what people do.
        ("Scott had given the branch a new address in May.", "Scott"),
        ("selma is from stillwater.", "selma"),
        # Two people opening a sentence in capitals or lower case.
        ("GOFFNEY AND OKONKWO WERE BOTH CHARGED THE FEE TWICE.", "GOFFNEY"),
        ("kaur and okonkwo were both charged the fee twice.", "okonkwo"),
        # Accented letters no English word has.
        ('"I am glad to hear that," says Navrátilová.', "Navrátilová"),
    ],
)
def test_a_lone_name_is_found_by_its_place_in_the_sentence(text: str, name: str) -> None:
    assert name in _names(text), (text, _names(text))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Refer to Dr. van der Berg for review.", "van der Berg"),
        ("Pieter van der Berg was admitted today.", "Pieter van der Berg"),
        ("Dear Ms de la Cruz,\nyour card is ready.", "de la Cruz"),
        ("DR. DI BITTON WILL SEE THE PATIENT AFTER LUNCH.", "DI BITTON"),
        ("dr. bin hazelton will see the patient after lunch.", "bin hazelton"),
        ("atlanta de la kintzel wants to move the isa.", "atlanta de la kintzel"),
        ("Countersigned by A. T. Rolstad on Monday.", "A. T. Rolstad"),
        ("DISCHARGE SUMMARY COUNTERSIGNED BY A. T. ROLSTAD ON MONDAY.", "A. T. ROLSTAD"),
        ("countersigned by b. d. owusu on monday.", "b. d. owusu"),
    ],
)
def test_particles_and_initials_belong_to_the_name(text: str, name: str) -> None:
    assert name in _names(text), (text, _names(text))


@pytest.mark.parametrize(
    "text",
    [
        # Clinical and banking words in the same places.
        "Sorry, can you check the INR again?",
        "Metformin, could you remind me of the dose?",
        "Zosyn is very expensive on this ward.",
        "Why is Ozempic so expensive this year?",
        "Lasix explained the weight loss.",
        "Seen by: Cardiology\nPlan: echo",
        "Nurse in charge: to be confirmed",
        "INR, please: the result is late.",
        "The INR is very high, call the registrar.",
        "Patient explained that the pain started after the fall.",
        "Please, could you check the balance?",
        "May and June were both quiet months.",
        "METFORMIN AND LASIX WERE BOTH STOPPED.",
        "tea and toast were given at noon.",
        "Producer Lee explained to Fuse TV that the album was late.",
        "I went to see the van de Graaff generator.",
        "A van der Waals force holds them.",
        "She ordered a café au lait and a naïve painting.",
    ],
)
def test_the_same_places_hold_no_name_when_the_word_is_none(text: str) -> None:
    found = [n for n in _names(text) if n not in ("Lee",)]
    assert found == [], (text, found)
