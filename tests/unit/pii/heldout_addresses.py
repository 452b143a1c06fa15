"""Held-out street addresses: sentences the address recognizer was not tuned on.

Addresses are built by rules from this file's own street-name, city and postal-code vocabularies,
in the shapes each country writes them (US, UK, DE, FR, ES, NL, Nordic, IT, HU), on one line or
several, with or without a unit, PO boxes and military addresses, inside carrier sentences a
hospital or bank user writes. ``negatives`` are clinical and banking sentences with rooms, wards,
beds, floors, doses, lab values and branch names and no address: every fact must survive.

Run ``.venv/bin/python -m tests.unit.pii.heldout_addresses`` for recall per shape.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from tests.unit.pii.heldout import Case, Negative, _case, _pick

# ---------------------------------------------------------------- vocabularies

_US_NAMES = (
    "Maple Oak Cedar Washington Lincoln Hillcrest Sunset Willow Jefferson Elm Lakeview Franklin".split()
)
_US_NAMES += ["Cherry Hill", "Mill Creek", "North Highland", "Old Orchard", "W 34th", "Martin Luther King Jr"]
_US_TYPES = (
    "Street St Avenue Ave Road Rd Boulevard Blvd Lane Ln Drive Court Ct Place Way Terrace Circle "
    "Parkway Highway"
).split()
_US_CITIES = [
    ("Springfield", "IL", "62704"),
    ("Columbus", "OH", "43215"),
    ("Austin", "TX", "78701"),
    ("Portland", "OR", "97205"),
    ("Denver", "CO", "80203"),
    ("Madison", "WI", "53703"),
    ("Raleigh", "NC", "27601"),
    ("Tucson", "AZ", "85701"),
    ("Albany", "NY", "12207"),
    ("Boise", "ID", "83702-1456"),
]
_UNITS = ["Apt 4B", "Apt. 12", "Suite 300", "Unit 7", "#5", "Apt 2R", "Ste 110"]

_UK_NAMES = "Church Station Victoria Mill Kings Queens Manor Albert Chapel Beech Holly Rosebery".split()
_UK_TYPES = "Road Street Lane Close Crescent Gardens Grove Terrace Avenue Mews Way Drive".split()
_UK_TOWNS = [
    ("Leeds", "LS6 2AB"),
    ("Bristol", "BS8 1TH"),
    ("Manchester", "M14 5RF"),
    ("Cardiff", "CF10 3AT"),
    ("Norwich", "NR2 4PD"),
    ("Oxford", "OX4 1AB"),
    ("York", "YO10 5DD"),
    ("Glasgow", "G12 8QQ"),
]

_DE_STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Schillerstrasse",
    "Gartenweg",
    "Kirchgasse",
    "Marktplatz",
    "Berliner Straße",
    "Lindenallee",
    "Goethestr.",
    "Am Mühlbach",
]
_DE_CITIES = [
    ("10115", "Berlin"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("20095", "Hamburg"),
    ("04109", "Leipzig"),
]

_FR_STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Voltaire",
    "place du Marché",
    "allée des Tilleuls",
    "Rue Victor Hugo",
    "chemin des Vignes",
    "quai Saint-Antoine",
]
_FR_CITIES = [
    ("69002", "Lyon"),
    ("75011", "Paris"),
    ("13001", "Marseille"),
    ("31000", "Toulouse"),
    ("44000", "Nantes"),
]

_ES_STREETS = [
    "Calle Mayor",
    "Avenida de la Constitución",
    "Calle de Alcalá",
    "Carrer de Mallorca",
    "Paseo de Gracia",
    "Rua Augusta",
    "Avenida da Liberdade",
]
_ES_CITIES = [
    ("28013", "Madrid"),
    ("41001", "Sevilla"),
    ("46002", "Valencia"),
    ("08001", "Barcelona"),
    ("1100-048", "Lisboa"),
]

_NL_STREETS = [
    "Keizersgracht",
    "Stationsstraat",
    "Dorpsstraat",
    "Vondellaan",
    "Prinsengracht",
    "Oudegracht",
    "Kerkplein",
]
_NL_CITIES = [
    ("1016 DX", "Amsterdam"),
    ("3511 AB", "Utrecht"),
    ("2511 CV", "Den Haag"),
    ("9711 LM", "Groningen"),
]

_NORDIC_STREETS = [
    ("Storgatan", "114 55", "Stockholm", "Sweden"),
    ("Drottninggatan", "411 14", "Göteborg", "Sweden"),
    ("Kungsvägen", "752 36", "Uppsala", "Sweden"),
    ("Nørregade", "1165", "København K", "Denmark"),
    ("Vesterbrogade", "1620", "København V", "Denmark"),
    ("Mannerheimintie", "00100", "Helsinki", "Finland"),
    ("Hämeenkatu", "33100", "Tampere", "Finland"),
    ("Bogstadveien", "0355", "Oslo", "Norway"),
    ("Karl Johans gate", "0154", "Oslo", "Norway"),
]
_IT_STREETS = ["Via Garibaldi", "Via Roma", "Viale Monza", "Piazza Navona", "Corso Buenos Aires"]
_IT_CITIES = [("20121", "Milano"), ("00186", "Roma"), ("10121", "Torino")]
_HU_STREETS = ["Kossuth Lajos utca", "Andrássy út", "Rákóczi u.", "Petőfi tér", "Szent István krt."]
_HU_CITIES = [("1053", "Budapest"), ("6720", "Szeged"), ("4025", "Debrecen")]


def _n(rng: random.Random, low: int = 1, high: int = 2400) -> str:
    return str(rng.randint(low, high))


# ---------------------------------------------------------------- address shapes


def us_address(rng: random.Random) -> str:
    street = f"{_n(rng)} {_pick(rng, _US_NAMES)} {_pick(rng, _US_TYPES)}"
    if rng.random() < 0.4:
        street += _pick(rng, [" ", ", "]) + _pick(rng, _UNITS)
    city, state, zip_code = _US_CITIES[rng.randrange(len(_US_CITIES))]
    sep = _pick(rng, [", ", "\n"])
    tail = f"{city}, {state} {zip_code}"
    if rng.random() < 0.2:
        tail += _pick(rng, [", USA", "\nUSA"])
    return street + sep + tail


def uk_address(rng: random.Random) -> str:
    street = f"{_n(rng, 1, 240)} {_pick(rng, _UK_NAMES)} {_pick(rng, _UK_TYPES)}"
    if rng.random() < 0.3:
        street = f"Flat {rng.randint(1, 9)}, " + street
    town, postcode = _UK_TOWNS[rng.randrange(len(_UK_TOWNS))]
    sep = _pick(rng, [", ", "\n"])
    out = f"{street}{sep}{town}{sep}{postcode}" if rng.random() < 0.5 else f"{street}{sep}{town} {postcode}"
    if rng.random() < 0.2:
        out += sep + "United Kingdom"
    return out


def de_address(rng: random.Random) -> str:
    number = _n(rng, 1, 180) + _pick(rng, ["", "", "a", "b"])
    street = f"{_pick(rng, _DE_STREETS)} {number}"
    postal, city = _DE_CITIES[rng.randrange(len(_DE_CITIES))]
    out = street + _pick(rng, [", ", "\n"]) + f"{postal} {city}"
    if rng.random() < 0.2:
        out += _pick(rng, [", Germany", "\nDeutschland"])
    return out


def fr_address(rng: random.Random) -> str:
    street = f"{_n(rng, 1, 160)}{_pick(rng, ['', '', ' bis'])} {_pick(rng, _FR_STREETS)}"
    postal, city = _FR_CITIES[rng.randrange(len(_FR_CITIES))]
    out = street + _pick(rng, [", ", "\n"]) + f"{postal} {city}"
    if rng.random() < 0.2:
        out += ", France"
    return out


def es_address(rng: random.Random) -> str:
    street = f"{_pick(rng, _ES_STREETS)} {_n(rng, 1, 300)}"
    if rng.random() < 0.3:
        street += f", {rng.randint(1, 8)}º {rng.choice('ABCD')}"
    postal, city = _ES_CITIES[rng.randrange(len(_ES_CITIES))]
    return street + _pick(rng, [", ", "\n"]) + f"{postal} {city}"


def nl_address(rng: random.Random) -> str:
    street = f"{_pick(rng, _NL_STREETS)} {_n(rng, 1, 400)}"
    postal, city = _NL_CITIES[rng.randrange(len(_NL_CITIES))]
    return street + _pick(rng, [", ", "\n"]) + f"{postal} {city}"


def nordic_address(rng: random.Random) -> str:
    street, postal, city, country = _NORDIC_STREETS[rng.randrange(len(_NORDIC_STREETS))]
    out = f"{street} {_n(rng, 1, 120)}" + _pick(rng, [", ", "\n"]) + f"{postal} {city}"
    if rng.random() < 0.3:
        out += _pick(rng, [", ", "\n"]) + country
    return out


def it_hu_address(rng: random.Random) -> str:
    if rng.random() < 0.5:
        postal, city = _IT_CITIES[rng.randrange(len(_IT_CITIES))]
        return f"{_pick(rng, _IT_STREETS)} {_n(rng, 1, 200)}, {postal} {city}"
    postal, city = _HU_CITIES[rng.randrange(len(_HU_CITIES))]
    street = f"{_pick(rng, _HU_STREETS)} {_n(rng, 1, 90)}."
    return f"{postal} {city}, {street}" if rng.random() < 0.5 else f"{street}, {postal} {city}"


def box_address(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        city, state, zip_code = _US_CITIES[rng.randrange(len(_US_CITIES))]
        box = _pick(rng, ["PO Box", "P.O. Box", "Post Office Box"])
        return f"{box} {_n(rng, 10, 99999)}" + _pick(rng, [", ", "\n"]) + f"{city}, {state} {zip_code}"
    if roll < 0.8:
        box = f"PSC {_n(rng, 1000, 9999)}, Box {_n(rng, 1000, 9999)}"
        return f"{box}\nAPO {_pick(rng, ['AE', 'AP', 'AA'])} {_n(rng, 10000, 99999)}"
    box = f"Unit {_n(rng, 1000, 9999)} Box {_n(rng, 100, 9999)}"
    return f"{box}\nDPO {_pick(rng, ['AE', 'AP'])} {_n(rng, 10000, 99999)}"


SHAPES: dict[str, Callable[[random.Random], str]] = {
    "us": us_address,
    "uk": uk_address,
    "de": de_address,
    "fr": fr_address,
    "es_pt": es_address,
    "nl": nl_address,
    "nordic": nordic_address,
    "it_hu": it_hu_address,
    "box_military": box_address,
}

# ---------------------------------------------------------------- carriers

_CARRIERS = [
    "Patient's home address: {v}",
    "Please update the mailing address on file to {v}.",
    "Ship the replacement card to {v}.",
    "Pt lives at {v} with her daughter; independent with ADLs.",
    "Billing address:\n{v}\n\nThank you.",
    "Discharged home to {v}, follow-up in 2 weeks.",
    "He has moved, new address is {v}. Please update the statement preferences.",
    "Send the GP letter to {v}",
    "Next of kin: wife, same address ({v}).",
    "Customer gave {v} as correspondence address.",
    "Home visit booked at {v} on Tuesday 10:30.",
    "Ambulance dispatched to {v} at 14:20.",
    "The card came back undelivered from\n{v}\nPlease call the customer.",
    "Residence: {v}",
    "Statement returned - old address {v}.",
]


def address_cases(rng: random.Random, per_shape: int) -> list[Case]:
    """``per_shape`` sentences for each shape; ``Case.lang`` holds the shape's name."""
    cases = []
    for shape, make in SHAPES.items():
        for _ in range(per_shape):
            cases.append(_case("street_address", shape, _pick(rng, _CARRIERS), make(rng), "LOCATION"))
    return cases


# ---------------------------------------------------------------- negatives

_NEGATIVE_TEXTS: list[tuple[str, tuple[str, ...]]] = [
    ("Transferred from Room 4B to Ward 7, Bed 12 at 14:30.", ("Room 4B", "Ward 7", "Bed 12")),
    ("Report to Building C, Floor 3, Suite 200 of the clinic.", ("Building C", "Floor 3", "Suite 200")),
    ("Take 2 tablets by mouth twice daily for 5 days.", ("2 tablets", "5 days")),
    ("Metformin 500 mg, Lisinopril 10 mg; Na 140, K 4.1, Hb 12.4 g/dL.", ("Metformin 500 mg", "Na 140")),
    ("Seen in Bay 3, Level 2 Main Building; HR 72, BP 120/80.", ("Bay 3", "Level 2", "HR 72", "BP 120/80")),
    ("Ward 7 Nurse Station paged the registrar at 02:15.", ("Ward 7 Nurse Station", "02:15")),
    ("Follow up at the Fifth Avenue clinic in 2 weeks.", ("Fifth Avenue", "2 weeks")),
    ("Stage 3 breast cancer, cycle 2 day 8 of FOLFOX; ECOG 1.", ("Stage 3", "cycle 2 day 8")),
    ("Insulin glargine 10 units at 22:00, 4 units before meals.", ("10 units", "4 units")),
    ("Walked 3 blocks down the road without dyspnoea.", ("3 blocks down the road",)),
    ("Dose 2 of the vaccine given at 10:30 in Clinic 4, Wing B.", ("Dose 2", "Clinic 4", "Wing B")),
    ("CD4 350 cells/uL, viral load 40 copies/mL, Plt 250.", ("CD4 350", "Plt 250")),
    ("ICU Bed 4 to Ward 12 North, then Theatre 3 on Level 5.", ("Bed 4", "Ward 12 North", "Theatre 3")),
    ("Schedule: Monday 9 March 2025, Room 12, Floor 2.", ("9 March 2025", "Room 12", "Floor 2")),
    ("Transfer 2,500 EUR from account ending 4421 to savings.", ("2,500 EUR", "4421")),
    ("The King Street branch closes at 16:00 on Fridays.", ("King Street", "16:00")),
    ("Card 4 of 5 was issued at the Canary Wharf branch, desk 3.", ("Card 4 of 5", "Canary Wharf", "desk 3")),
    ("Sort code 20-00-00, account 12345678, reference Invoice 2024 Q3.", ("20-00-00", "Invoice 2024 Q3")),
    ("Page 3 of 12, Section 4 Table 2, Version 1.2.", ("Page 3 of 12", "Section 4 Table 2")),
    ("Gait: 10 m walk test 8 s; climbed 12 steps with 1 rail.", ("12 steps", "1 rail")),
    ("Paracetamol 1 g PO q6h, max 4 g per day; review at 18:00.", ("1 g", "4 g per day")),
    (
        "Main Street Pharmacy called about 30 tablets of Sertraline 50 mg.",
        ("Main Street Pharmacy", "Sertraline 50 mg"),
    ),
    ("Mortgage 25 years fixed at 4.2%, ATM at Park Lane branch.", ("25 years", "Park Lane")),
    ("Seen by Dr. Osei, Unit 5 West, bed 22 by the window.", ("Unit 5 West", "bed 22")),
]


def negatives() -> list[Negative]:
    """Clinical and banking sentences without an address."""
    return [Negative("en", text, keep) for text, keep in _NEGATIVE_TEXTS]


def generate(per_shape: int = 40, seed: int = 1818) -> list[Case]:
    return address_cases(random.Random(seed), per_shape)


def recall_by_shape(cases: Sequence[Case], found: Sequence[bool]) -> dict[str, tuple[int, int]]:
    table: dict[str, tuple[int, int]] = {}
    for case, hit in zip(cases, found, strict=True):
        done, total = table.get(case.lang, (0, 0))
        table[case.lang] = (done + hit, total + 1)
    return table


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy
    from tests.unit.pii.heldout import is_found

    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32))
    cases = generate()
    found = [is_found(case, detector.detect(case.text), 0.5) for case in cases]
    for shape, (hit, total) in recall_by_shape(cases, found).items():
        print(f"{shape:<14}{hit:>4}/{total:<4}{hit / total:>7.3f}")
    print(f"{'all':<14}{sum(found):>4}/{len(found):<4}{sum(found) / len(found):>7.3f}")
    for case, hit in zip(cases, found, strict=True):
        if not hit:
            print("missed:", repr(case.text))


if __name__ == "__main__":
    main()
