"""Held-out English person names in clinical and banking prompts, and texts with none.

Sentences are written the way ward staff, clinicians and bank staff write to an assistant (74
templates: the name at the start of a sentence, after a title, in a list, in a signature, as a
possessive, as "Surname, First", a name or a surname alone after "my name is", "last name?",
"surname:", "this is", a list of surnames, dialogue speaker labels, "First M. Last", a surname
mentioned again, a vocative, a speaker before or after a verb of speech, a trait said of a name,
role labels, particles after a title, initials), independently of the recognizer's context
words. Names come from three places:

- ``listed``: names in the shipped lexicons, mostly common ones, some that are common words;
- ``held_out``: a fixed tenth of the shipped lists (``is_held_out``), which the evaluation removes
  from the recognizer's lexicons (``NameLexicons.without``): what the rules find without the lists;
- ``many_origins``: a hand-written list of first names and surnames of many origins, some of them
  in no list at all.

Each name is written in one casing class: ``title`` (as typed), ``upper`` and ``lower`` (the whole
sentence), ``leet`` (digits for some letters of the name). ``negatives`` are clinical and banking
sentences full of capitalized drug, laboratory, department, eponym, product, branch and firm
names, weekdays and months, in the same casings: no name may be found there.

Run ``.venv/bin/python -m tests.unit.pii.names_heldout`` for recall per class and casing before and
after the name recognizer, and the false-positive rate on the negatives.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

CASINGS = ("title", "upper", "lower", "leet")
SOURCES = ("listed", "held_out", "many_origins")


@dataclass(frozen=True)
class NameCase:
    """One sentence with one person name in it, at ``text[start:end]``."""

    source: str
    casing: str
    domain: str  # clinical / banking
    text: str
    start: int
    end: int

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]


@dataclass(frozen=True)
class Negative:
    """A sentence without a person name; every fact in ``keep`` must come out unchanged."""

    domain: str
    casing: str
    text: str
    keep: tuple[str, ...]


class _Finding(Protocol):
    entity_type: str
    start: int
    end: int
    score: float


def is_held_out(name: str) -> bool:
    """The fixed tenth of the name lists that the held-out evaluation removes from the lexicons."""
    return zlib.crc32(name.lower().encode()) % 10 == 0


@cache
def _shipped(name: str) -> tuple[str, ...]:
    text = resources.files("policies.pii").joinpath("data", name).read_text("utf-8")
    return tuple(line for line in text.split("\n") if line)


def held_out_names() -> frozenset[str]:
    """Every name of the shipped lists that ``is_held_out``."""
    names = set()
    for name in (
        "first_names.txt",
        "first_names_common_words.txt",
        "surnames.txt",
        "surnames_common_words.txt",
    ):
        names.update(n for n in _shipped(name) if is_held_out(n))
    return frozenset(names)


def _popular(rng: random.Random, names: Sequence[str]) -> str:
    """Mostly common names (the lists are ordered by frequency), some rare ones."""
    roll = rng.random()
    limit = 3000 if roll < 0.5 else 40000 if roll < 0.85 else len(names)
    return names[rng.randrange(min(limit, len(names)))]


def _listed_first(rng: random.Random) -> str:
    names = _shipped("first_names_common_words.txt" if rng.random() < 0.08 else "first_names.txt")
    while True:
        name = _popular(rng, names)
        if not is_held_out(name):
            return name.capitalize()


def _listed_last(rng: random.Random) -> str:
    names = _shipped("surnames_common_words.txt" if rng.random() < 0.08 else "surnames.txt")
    while True:
        name = _popular(rng, names)
        if not is_held_out(name) and len(name) > 2:
            return _surname_case(name)


def _held_out(rng: random.Random, file: str) -> str:
    names = [n for n in _shipped(file)[:40000] if is_held_out(n) and len(n) > 2]
    return names[rng.randrange(len(names))]


def _surname_case(name: str) -> str:
    if name.startswith("mc") and len(name) > 4:
        return "Mc" + name[2].upper() + name[3:]  # McDonald
    return name.capitalize()


# Written by hand; several are in no shipped list (Oyelaran, Obiageli, Achieng, Kiprop, Chebet...).
MANY_ORIGIN_FIRST = (
    "Oluwaseun Chidi Ngozi Amara Priya Arjun Aarav Siobhan Niamh Aoife Saoirse Mehmet Ayşe Fatima "
    "Muhammad Yusuf Ahmed Wei Mei Hiroshi Yuki Thanh Linh Dmitri Olga Katarzyna Zofia Bogdan Giulia "
    "Matteo João Sebastián Ximena Thiago Kwame Ama Kofi Obiageli Tunde Chukwuemeka Adaeze Olumide "
    "Ifeoma Chiamaka Nnamdi Achieng Kiprop Chebet Oyinlola Jae-won Min-seo Anh Duc Nikolai Svetlana "
    "Bartosz Agnieszka Lucía Mateus Rania Karim Layla Tariq Noor Ravi Deepika Sanjay Lakshmi Halldóra "
    "Jiří Eliška Tomáš Zoltán Bálint Søren Åsa Łukasz"
).split()
MANY_ORIGIN_LAST = (
    "Tran Adeyemi Khoury Lefebvre Nguyen Okafor Kowalski Haddad Yilmaz Gonzalez Patel Singh Kim "
    "Okonkwo Nakamura Ivanova Schmidt Rossi Silva Kaur Mensah Abdi Hussain Begum Dlamini Papadopoulos "
    "Novak Horvath Jensen Nielsen O'Brien Murphy MacLeod Fernandes Pereira Goldberg Cohen Rahman "
    "Chowdhury Banerjee Iyer Reddy Takahashi Watanabe Park Choi Pham Hoang Huang Zhao Kowalczyk "
    "Wiśniewski Müller Gómez Peña Núñez Çelik Öztürk Oyelaran Nwachukwu Ogunleye Boateng Owusu Wanjiru "
    "Otieno Mwangi Tesfaye Bekele Nascimento Carvalho Szabó Kovács Dimitrov Popescu Demir Şahin Yıldız "
    "Garcia-Lopez Al-Sayed Ben-David Okoro Eze Mahlangu Abiodun Lungu Achebe Dvořák Nováková "
    "Horváthová Szőke Sørensen Łukasiewicz Jovanović Ólafsdóttir Kovačević"
).split()


def _person(rng: random.Random, source: str) -> tuple[str, str]:
    """(first name, surname) from ``source``."""
    if source == "listed":
        return _listed_first(rng), _listed_last(rng)
    if source == "held_out":
        # Surname held out, first name listed; a third of the time both held out.
        last = _surname_case(_held_out(rng, "surnames.txt"))
        first = _held_out(rng, "first_names.txt").capitalize() if rng.random() < 0.33 else _listed_first(rng)
        return first, last
    return rng.choice(MANY_ORIGIN_FIRST), rng.choice(MANY_ORIGIN_LAST)


_LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "5", "t": "7", "l": "1"}


def leetify(name: str, rng: random.Random) -> str:
    """One or two letters of each part written as digits ("M4ria G0nzalez")."""
    parts = []
    for part in name.split(" "):
        chars = list(part)
        positions = [i for i, ch in enumerate(chars) if ch.lower() in _LEET]
        for i in rng.sample(positions, min(len(positions), rng.choice([1, 1, 2]))):
            chars[i] = _LEET[chars[i].lower()]
        parts.append("".join(chars))
    return " ".join(parts)


# {name}: first and last name; {last}: the surname alone (after a title); {first}: the first name
# alone; {inverted}: "Surname, First"; {fml}: "First M. Last". Not scored: {other} (a second
# person), {other_first} and {other_last} (their first name or surname alone), {full} (the scored
# person's full name, mentioned before the scored surname); {plast}: particles and the surname
# ("van der Berg"); {pname}: the first name, particles, the surname; {ilast}: "J. R. Last".
CLINICAL = [
    "Summarize the chart for {name} (SSN 536-22-1234).",
    "Draft a discharge letter for patient {name}.",
    "{name} was admitted overnight with chest pain; troponin pending.",
    "Please write a referral to cardiology for {name}, DOB 04/11/1958.",
    "Dr. {last} asked me to update the care plan before rounds.",
    "Can you explain these lab results to {name} in plain language?",
    "{name}'s daughter wants to know when visiting hours are.",
    "Handover: bed 12 is {name}, post-op day 2, obs stable.",
    "Attendees: {name}, {other} and the charge nurse.",
    "Thanks,\n{name}\nWard 7 charge nurse",
    "Mrs. {last} called to reschedule her MRI.",
    "Convert this into a SOAP note: {name} presents with a 3-day cough and fever.",
    "Is it safe for {name} to take ibuprofen with her lisinopril?",
    "Translate the consent form for {name} into Spanish.",
    "{name} missed his dialysis session on Tuesday, please call him.",
    "The family of {name} requested a meeting with palliative care.",
    "Write a sick note for {name}, off work until next Monday.",
    "Nurse {first} will cover the evening shift on ward 4.",
    "Re: {name} - follow-up colonoscopy results",
    "Spoke with {name} about the biopsy; she wants a second opinion.",
    "Pls add {name} to tomorrow's theatre list, 2nd case.",
    "{inverted} - allergy to penicillin, update the MAR",
    # Single name parts in person positions, lists, dialogue, "First M. Last" (issue 18, public corpus).
    "My name is {first} and I'm calling about my father's results.",
    "What's your last name? {last}",
    "Surname: {last}\nWard: 7B\nConsultant on call",
    "Reviewed {full} on the ward round; {last} is keen to go home tomorrow.",
    "{first}: Is my mum's bed ready yet?\n{other_first}: Not yet, try after 3pm.",
    "The surgical team: {last}, {other_last} and the registrar.",
    "Discharge summary signed by {fml}.",
    "This is {first} from ward 9, calling about the bed in bay 4.",
    # Shapes of English prose with no cue word before the name (issue 18, third pass): a vocative,
    # a speaker after or before a verb of speech, a trait said of the name, role labels, particles
    # after a title, initials.
    "{last}, could you check the INR before the next dose?",
    '"The pain is worse at night," explained {first}.',
    "{last} is very anxious about the surgery tomorrow.",
    "Why is {first} so agitated this morning?",
    "Nurse in charge: {last}\nBeds open: 3",
    "Seen by: {name}\nPlan: repeat bloods in 48h",
    "Dr. {plast} will see the patient after lunch.",
    "Discharge summary countersigned by {ilast} on Monday.",
    "{last} explained that the pain started after the fall.",
]
BANKING = [
    "Customer {name} disputes a charge of $420 from last Friday.",
    "Please prepare a loan summary for {name}, account ending 4471.",
    "Transfer 2,500 EUR from savings to {name}'s checking account.",
    "{name} wants to close her joint account and open a Premier Savings.",
    "Write a polite reply to {name} explaining the overdraft fee.",
    "Account holder: {name}\nBranch: Riverside",
    "Why was the wire to {name} flagged for review?",
    "Mr. {last} asked for a mortgage rate quote on a 30-year fixed.",
    "Draft a KYC summary: {name}, self-employed, moved from Lagos in 2019.",
    "Beneficiary name: {name}",
    "Compose a letter to {name} confirming the credit limit increase.",
    "Flag {name} for a callback about the fraud alert.",
    "Hi team, {name} from the Oakwood branch is out sick today.",
    "Payee {name} was added on 3 March.",
    "Kind regards,\n{name}\nRelationship Manager",
    "{inverted} - card replacement request",
    "Per {name}'s instructions, roll the CD into a new 12-month term.",
    "Can you check whether {name} qualifies for the student account?",
    "Joint applicants: {name} and {other}.",
    "{name} called the branch twice about a missing deposit.",
    "Hi, my name is {name} and I want to close my account.",
    "First name: {first}\nAccount: 44718822\nReason: moving abroad",
    "cc: {last}, {other_last}\nRe: overdraft review",
    "{fml} opened a joint account with {other}.",
    "{last} and {other_last} were both charged the monthly fee twice.",
    "Best regards,\n{first}",
    "{first}, can you confirm the payee details before I send it?",
    "{last} has always been very polite on the phone.",
    "Verified by: {name}\nLimit: 5,000 GBP",
    "Dear Ms {plast},\nyour new card is on its way.",
    "Relationship manager on duty: {last}",
    '"I never authorised that payment," insisted {first}.',
    "Hi {first},\nthe statement you asked for is attached.",
    "{pname} wants to move the ISA to a fixed rate.",
    "{first} had given the branch a new address in May.",
]
TEMPLATES = [("clinical", t) for t in CLINICAL] + [("banking", t) for t in BANKING]


# Lower-case particles of surnames of many origins ("van der Berg", "de la Cruz", "bin Said").
_PARTICLES = ("van", "van der", "van den", "von", "de", "de la", "da", "dos", "du", "ten", "bin", "di")


def _render(template: str, first: str, last: str, other: str, casing: str, rng: random.Random) -> NameCase:
    initial = rng.choice("ABCDEJKLMRST")
    particle = rng.choice(_PARTICLES)
    if "{plast}" in template:
        value = f"{particle} {last}"
    elif "{pname}" in template:
        value = f"{first} {particle} {last}"
    elif "{ilast}" in template:
        value = f"{initial}. {rng.choice('ABCDEJKLMRST')}. {last}"
    elif "{last}" in template:
        value = last
    elif "{first}" in template:
        value = first
    elif "{inverted}" in template:
        value = f"{last}, {first}"
    elif "{fml}" in template:
        value = f"{first} {initial}. {last}"
    else:
        value = f"{first} {last}"
        if rng.random() < 0.1:
            value = f"{first} {initial}. {last}"
    if casing == "leet":
        value = leetify(value, rng)
    keys = ("{name}", "{last}", "{first}", "{inverted}", "{fml}", "{plast}", "{pname}", "{ilast}")
    key = next(k for k in keys if k in template)
    other_first, _, other_last = other.partition(" ")
    fills = {
        "{other}": other,
        "{other_first}": other_first,
        "{other_last}": other_last,
        "{full}": f"{first} {last}",
    }
    before, after = template.split(key)
    for placeholder, fill in fills.items():
        before, after = before.replace(placeholder, fill), after.replace(placeholder, fill)
    text = before + value + after
    if casing == "upper":
        text = text.upper()
    elif casing == "lower":
        text = text.lower()
    return NameCase("", casing, "", text, len(before), len(before) + len(value))


def generate(per_class: int, seed: int) -> list[NameCase]:
    """``per_class`` sentences for each source and casing class, the templates taken in turn."""
    rng = random.Random(seed)
    cases = []
    for source in SOURCES:
        for casing in CASINGS:
            for index in range(per_class):
                domain, template = TEMPLATES[(index + rng.randrange(len(TEMPLATES))) % len(TEMPLATES)]
                first, last = _person(rng, source)
                other_first, other_last = _person(rng, "listed")
                case = _render(template, first, last, f"{other_first} {other_last}", casing, rng)
                cases.append(NameCase(source, casing, domain, case.text, case.start, case.end))
    return cases


def is_found(case: NameCase, findings: Sequence[_Finding], threshold: float) -> bool:
    """Every letter of the name lies inside a PERSON finding at or above ``threshold``."""
    spans = [(f.start, f.end) for f in findings if f.entity_type == "PERSON" and f.score >= threshold]
    return all(
        any(s <= i < e for s, e in spans) for i in range(case.start, case.end) if case.text[i].isalnum()
    )


def recall_table(
    cases: Sequence[NameCase], findings: Sequence[Sequence[_Finding]], threshold: float
) -> dict[tuple[str, str], tuple[int, int]]:
    """(source, casing) -> (found, total)."""
    table: dict[tuple[str, str], list[int]] = {}
    for case, found in zip(cases, findings, strict=True):
        entry = table.setdefault((case.source, case.casing), [0, 0])
        entry[0] += is_found(case, found, threshold)
        entry[1] += 1
    return {key: (hit, total) for key, (hit, total) in table.items()}


# ---------------------------------------------------------------- negatives

_DRUGS = (
    "Metformin Lasix Eliquis Keppra Zosyn Entresto Jardiance Ozempic Humira Xarelto Brilinta Farxiga "
    "Coumadin Lipitor Norco Dilaudid Ativan Haldol Seroquel Vancomycin Ceftriaxone Heparin Insulin "
    "Prednisone Amoxicillin Tylenol Zofran Protonix Lovenox Plavix Synthroid Lantus Narcan Flomax"
).split()
_LABS = (
    "Troponin Procalcitonin Ferritin Lactate D-dimer BNP CRP HbA1c TSH INR Creatinine Potassium "
    "Magnesium Lipase Albumin Bilirubin Hemoglobin"
).split()
_DEPARTMENTS = [
    "Emergency Department",
    "Cardiology",
    "Radiology",
    "Oncology Day Unit",
    "Acute Medical Unit",
    "Maternity",
    "Labour Ward",
    "Theatre 3",
    "Endoscopy Suite",
    "Fracture Clinic",
    "Intensive Care",
    "General Surgery",
    "Infectious Diseases",
    "Occupational Health",
    "Physiotherapy",
    "Pharmacy",
    "Dermatology Outpatients",
    "Stroke Unit",
    "Renal Dialysis Unit",
    "Pain Clinic",
]
_EPONYMS = [
    "Smith fracture",
    "Colles fracture",
    "Parkinson's disease",
    "Crohn's disease",
    "Bell's palsy",
    "Cushing syndrome",
    "Graves disease",
    "Hodgkin lymphoma",
    "Glasgow Coma Scale",
    "Apgar score",
    "Wells score",
    "Babinski sign",
    "Murphy's sign",
    "Foley catheter",
    "Whipple procedure",
    "Stevens-Johnson syndrome",
    "Guillain-Barré syndrome",
    "Addison's disease",
    "Hashimoto's thyroiditis",
    "Barrett's oesophagus",
    "Alzheimer's dementia",
    "Huntington's disease",
    "Down syndrome",
    "Raynaud's phenomenon",
    "Kawasaki disease",
    "Wilson's disease",
    "Paget's disease",
    "Dupuytren's contracture",
    "Baker's cyst",
    "Trendelenburg position",
    "Valsalva maneuver",
    "Epley manoeuvre",
    "Swan-Ganz catheter",
    "Holter monitor",
    "Bence Jones protein",
    "Austin Flint murmur",
]
_WHEN = (
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June "
    "July August September October November December"
).split()
_CLINICAL_NEGATIVE = [
    "Start {drug} 500 mg twice daily and recheck {lab} on {when}.",
    "{drug} held overnight; {lab} trending down.",
    "Seen in the {dept} on {when} with a suspected {eponym}.",
    "History of {eponym}, on {drug} since {when}.",
    "Refer to {dept} for {eponym} follow-up.",
    "Please summarize: {lab} elevated, started {drug}, transferred to {dept}.",
    "Patient Education leaflet on {drug} given; {lab} due {when}.",
    "Will review {lab} with {dept} after the ward round.",
    "{eponym} documented; {drug} and {drug2} continued.",
    "Booked into {dept} for {when}, bring the {eponym} report.",
    "Grace period for the {drug} prior authorization ends in {when}.",
    "Mark the {lab} as urgent and page {dept}.",
    "Discussed {eponym} with the family; consent for {drug} obtained.",
]
_PRODUCTS = [
    "Premier Savings",
    "Platinum Rewards Visa",
    "Sapphire Preferred",
    "Everyday Checking",
    "Advantage Plus",
    "Freedom Unlimited",
    "Marcus savings",
    "Chase Sapphire",
    "Visa Signature",
    "Mastercard World Elite",
    "Apple Pay",
    "Google Pay",
    "Zelle",
    "Venmo",
    "PayPal",
    "Business Advantage",
    "Smart Saver ISA",
    "Gold Card",
    "Premium Current Account",
    "Green Mortgage",
]
_BRANCHES = [
    "Main Street",
    "Riverside",
    "Oakwood",
    "King's Cross",
    "Canary Wharf",
    "Grant Park",
    "Victoria",
    "Lincoln Square",
    "Kingsway",
    "Harbor Point",
    "Westfield",
    "Union Square",
    "Brookline",
    "Park Avenue",
]
_FIRMS = [
    "Wells Fargo",
    "Charles Schwab",
    "Morgan Stanley",
    "Goldman Sachs",
    "Edward Jones",
    "Raymond James",
    "Capital One",
    "American Express",
    "Lloyds Bank",
    "Barclays",
    "HSBC",
    "Santander",
    "JPMorgan Chase",
    "Merrill Lynch",
    "Fidelity",
    "Vanguard",
]
_BANKING_NEGATIVE = [
    "Move 2,000 USD from {product} to the joint account at the {branch} branch.",
    "Compare {product} with {product2} for a student.",
    "The {branch} branch closes early on {when}.",
    "Is an incoming wire from {firm} subject to a hold?",
    "Draft a FAQ on {product} fees and the {when} rate change.",
    "Explain the difference between {firm} and {firm2} brokerage accounts.",
    "{product} statement for {when} shows two duplicate charges.",
    "Route the ACH return to the {branch} operations team.",
    "Summarize the {firm} rollover rules for an IRA.",
    "Will the {product} promotion still apply in {when}?",
]


def negatives(rng: random.Random, count: int) -> list[Negative]:
    """Clinical and banking sentences without a person name, in every casing but leet."""
    out = []
    for index in range(count):
        casing = ("title", "upper", "lower")[index % 3]
        if index % 2 == 0:
            template = rng.choice(_CLINICAL_NEGATIVE)
            fills = {
                "drug": rng.choice(_DRUGS),
                "drug2": rng.choice(_DRUGS),
                "lab": rng.choice(_LABS),
                "dept": rng.choice(_DEPARTMENTS),
                "eponym": rng.choice(_EPONYMS),
                "when": rng.choice(_WHEN),
            }
            domain = "clinical"
        else:
            template = rng.choice(_BANKING_NEGATIVE)
            fills = {
                "product": rng.choice(_PRODUCTS),
                "product2": rng.choice(_PRODUCTS),
                "branch": rng.choice(_BRANCHES),
                "firm": rng.choice(_FIRMS),
                "firm2": rng.choice(_FIRMS),
                "when": rng.choice(_WHEN),
            }
            domain = "banking"
        text = template.format(**fills)
        keep = tuple(v for k, v in fills.items() if "{" + k + "}" in template)
        if casing == "upper":
            text, keep = text.upper(), tuple(k.upper() for k in keep)
        elif casing == "lower":
            text, keep = text.lower(), tuple(k.lower() for k in keep)
        out.append(Negative(domain, casing, text, keep))
    return out


# Written after the recognizer was tuned and never used to tune it: new drugs, tests, units,
# eponyms, banking products, firms and branch towns (several of them named after people).
_FRESH_CLINICAL = [
    "Tresiba Dupixent Skyrizi Stelara Rinvoq Otezla Biktarvy Descovy Truvada Paxlovid Nurtec Ubrelvy "
    "Aimovig Vraylar Rexulti Trintellix Linzess Xifaxan Creon Zepbound Tagrisso Ibrance Kisqali "
    "Imbruvica Revlimid Darzalex Eylea Xgeva".split(),
    "Calprotectin Haptoglobin Ceruloplasmin Cortisol Prolactin Homocysteine Reticulocytes".split(),
    [
        "Nuclear Medicine",
        "Interventional Radiology",
        "Cardiac Cath Lab",
        "Sleep Lab",
        "Wound Care Clinic",
        "Bariatric Surgery",
        "Neurosurgery",
        "Hand Therapy",
        "Day Surgery Unit",
        "Coronary Care Unit",
        "High Dependency Unit",
        "Medical Assessment Unit",
    ],
    [
        "Sjogren syndrome",
        "Kaposi sarcoma",
        "Wernicke encephalopathy",
        "Marfan syndrome",
        "Horner syndrome",
        "Osgood-Schlatter disease",
        "Mallory-Weiss tear",
        "Zenker diverticulum",
        "Meckel diverticulum",
        "Lisfranc injury",
        "Jones fracture",
        "Bennett fracture",
        "McMurray test",
        "Lachman test",
        "Phalen test",
        "Tinel sign",
        "Romberg test",
        "Cullen sign",
        "Virchow node",
        "Charcot foot",
        "Kussmaul breathing",
        "Cheyne-Stokes respiration",
        "Child-Pugh score",
        "Gleason score",
        "Killip class",
        "Mallampati score",
    ],
]
_FRESH_CLINICAL_TEMPLATES = [
    "Switch from {a} to {b}; {lab} sent this morning.",
    "{dept} asked whether {a} can be given before the {eponym} work-up.",
    "Differential includes {eponym}; check {lab} and hold {a}.",
    "Referred by {dept}: positive {eponym}, started {b}.",
    "Prior auth for {a} denied, appeal drafted for {dept}.",
]
_FRESH_BANKING = [
    [
        "Venture X",
        "Quicksilver",
        "Discover it",
        "Blue Cash Preferred",
        "Active Cash",
        "Double Cash",
        "Custom Cash",
        "Autograph",
        "Savor",
        "Citi Premier",
        "Altitude Reserve",
        "Platinum Card",
    ],
    [
        "Fifth Third",
        "Citizens Bank",
        "Truist",
        "PNC",
        "KeyBank",
        "Huntington Bank",
        "Ally",
        "Synchrony",
        "Halifax",
        "Monzo",
        "Starling",
        "Coutts",
        "Schroders",
        "Hargreaves Lansdown",
        "Charles Stanley",
        "T. Rowe Price",
        "Janus Henderson",
        "Franklin Templeton",
        "Lord Abbett",
        "St. James's Place",
    ],
    [
        "Clapham Junction",
        "Beverly Hills",
        "Shirley",
        "Kirkwood",
        "Florence",
        "Marion",
        "Charlotte",
        "Austin",
        "Tyler",
        "Jackson",
        "Madison",
        "Lafayette",
        "Bethesda",
        "Glendale",
    ],
]
_FRESH_BANKING_TEMPLATES = [
    "Customer wants to move the {product} balance to {firm}.",
    "The {town} branch reports a card skimmer; {product} holders were notified.",
    "Compare {firm} and {firm2} on ISA transfer fees.",
    "Why did the {product} payment to {firm} bounce?",
    "Staff at the {town} branch need the new {product} script.",
]


def fresh_negatives(rng: random.Random, count: int) -> list[Negative]:
    """Sentences without a person name, with vocabulary the recognizer was never tuned on."""
    out = []
    drugs, labs, depts, eponyms = _FRESH_CLINICAL
    products, firms, towns = _FRESH_BANKING
    for index in range(count):
        casing = ("title", "upper", "lower")[index % 3]
        if index % 2 == 0:
            template = rng.choice(_FRESH_CLINICAL_TEMPLATES)
            fills = {
                "a": rng.choice(drugs),
                "b": rng.choice(drugs),
                "lab": rng.choice(labs),
                "dept": rng.choice(depts),
                "eponym": rng.choice(eponyms),
            }
            domain = "clinical"
        else:
            template = rng.choice(_FRESH_BANKING_TEMPLATES)
            fills = {
                "product": rng.choice(products),
                "firm": rng.choice(firms),
                "firm2": rng.choice(firms),
                "town": rng.choice(towns),
            }
            domain = "banking"
        text = template.format(**fills)
        keep = tuple(v for k, v in fills.items() if "{" + k + "}" in template)
        if casing == "upper":
            text, keep = text.upper(), tuple(k.upper() for k in keep)
        elif casing == "lower":
            text, keep = text.lower(), tuple(k.lower() for k in keep)
        out.append(Negative(domain, casing, text, keep))
    return out


def person_false_positives(
    sentences: Sequence[Negative], findings: Sequence[Sequence[_Finding]]
) -> list[str]:
    """The words taken for names in ``sentences`` (PERSON findings at the request threshold)."""
    wrong = []
    for sentence, found in zip(sentences, findings, strict=True):
        wrong.extend(
            sentence.text[f.start : f.end] for f in found if f.entity_type == "PERSON" and f.score >= 0.5
        )
    return wrong


# ---------------------------------------------------------------- report


def _main() -> None:
    import os
    import statistics
    import time

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy
    from policies.pii.recognizers_en import PersonNerRecognizer
    from policies.pii.recognizers_names import PersonNameRecognizer, shipped_lexicons
    from tests.unit.pii.test_person_names import with_name_recognizer

    policy = load_default_pii_policy()

    def fresh() -> PIIDetector:
        return PIIDetector(policy, cache_key=os.urandom(32), cache_entries=0)

    cases = generate(per_class=100, seed=2026)
    negative_sentences = negatives(random.Random(2027), 600)
    fresh_sentences = fresh_negatives(random.Random(2028), 600)
    before, after = fresh(), with_name_recognizer(fresh())
    held = with_name_recognizer(fresh(), shipped_lexicons().without(held_out_names()))
    vetoed = with_name_recognizer(fresh())
    _veto_model_non_names(vetoed, PersonNerRecognizer, PersonNameRecognizer())
    detectors = {
        "before": before,
        "after": after,
        "after, lexicon less held-out": held,
        "after + veto": vetoed,
    }
    texts = [c.text for c in cases]
    results = {}
    for label, detector in detectors.items():
        results[label] = recall_table(cases, detector.detect_many(texts), 0.5)
        found = detector.detect_many([n.text for n in negative_sentences])
        flagged = sum(any(f.entity_type == "PERSON" and f.score >= 0.5 for f in f_) for f_ in found)
        wrong = sorted(set(person_false_positives(negative_sentences, found)))
        print(f"{label}: negatives with a PERSON finding {flagged}/{len(negative_sentences)} {wrong[:10]}")
        found = detector.detect_many([n.text for n in fresh_sentences])
        flagged = sum(any(f.entity_type == "PERSON" and f.score >= 0.5 for f in f_) for f_ in found)
        wrong = sorted(set(person_false_positives(fresh_sentences, found)))
        print(f"{label}: fresh negatives with a PERSON finding {flagged}/{len(fresh_sentences)} {wrong[:14]}")
    labels = list(results)
    print(f"{'source':<14}{'casing':<8}" + "".join(f"{label:>32}" for label in labels))
    for source in SOURCES:
        for casing in CASINGS:
            row = [results[label][(source, casing)] for label in labels]
            print(f"{source:<14}{casing:<8}" + "".join(f"{h:>22}/{t:<3} {h / t:.3f}" for h, t in row))

    # Speed: the recognizer alone, and the whole detection with and without it, interleaved.
    from bench.pii_speed import PROMPT_200 as prompt

    rng = random.Random(5)
    prompts = [prompt.format(name=" ".join(_person(rng, "listed")), n=i) for i in range(400)]
    recognizer = PersonNameRecognizer()
    timings = []
    for text in prompts:
        started = time.perf_counter_ns()
        recognizer.analyze(text, ["PERSON"], None)
        timings.append((time.perf_counter_ns() - started) / 1000)
    timings.sort()
    print(
        f"PersonNameRecognizer.analyze, 200-character prompts: p50 {statistics.median(timings):.0f} us, "
        f"p99 {timings[int(0.99 * len(timings))]:.0f} us (first call {timings[-1]:.0f} us at most)"
    )
    deltas = []
    for index, text in enumerate(prompts[:200]):
        pair = []
        for detector in (before, after) if index % 2 else (after, before):
            started = time.perf_counter_ns()
            detector.detect(text + f" v{index}")
            pair.append((time.perf_counter_ns() - started) / 1e6)
        deltas.append(pair[1] - pair[0] if index % 2 else pair[0] - pair[1])
    print(
        "detect with minus without the recognizer, same prompts interleaved: "
        f"p50 {statistics.median(deltas):.2f} ms"
    )


def _veto_model_non_names(detector: object, model_recognizer: type, names: object) -> None:
    """Drop the model's PERSON findings that ``names.rejects`` (a prototype of wiring it into
    PersonNerRecognizer; for this report only)."""
    registry = detector._analyzer.registry  # type: ignore[attr-defined]
    for recognizer in registry.recognizers:
        if isinstance(recognizer, model_recognizer):
            analyze = recognizer.analyze

            def filtered(text, entities, nlp_artifacts=None, _analyze=analyze):  # type: ignore[no-untyped-def]
                return [
                    r
                    for r in _analyze(text, entities, nlp_artifacts)
                    if not names.rejects(text, r.start, r.end)
                ]  # type: ignore[attr-defined]

            recognizer.analyze = filtered


if __name__ == "__main__":
    _main()
