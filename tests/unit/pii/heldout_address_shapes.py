"""Held-out street addresses by SHAPE: the general forms addresses take, with vocabularies of this
file's own (street names, cities, postal codes), not the recognizer's lists nor any corpus's strings.

Shapes: USPS street suffixes and their standard abbreviations (Publication 28, appendix C1),
directional prefixes and suffixes, secondary unit designators (Apt, Suite, Ste, Unit, #, Floor,
Room, Bldg, Lot, Trlr ...), PO boxes, rural routes and highway contracts, highway addresses, house
numbers with letters, fractions and ranges, UK/AU/CA/EU forms and addresses written all in lower
case. Each is put in clinical and banking sentences. ``negatives`` are look-alikes that must
survive: wards and rooms of a hospital, doses, codes, blood pressures, trauma levels.

Run ``.venv/bin/python -m tests.unit.pii.heldout_address_shapes`` for recall per shape.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.unit.pii.heldout import Case, Negative, _case, _pick
from tests.unit.pii.heldout_addresses import recall_by_shape

# ---------------------------------------------------------------- vocabularies (this file's own)

_NAMES = (
    "Birchwood Tamarack Quarry Heron Juniper Sycamore Kestrel Marigold Saddleback Foxglove Bramble "
    "Larkspur Thornbury Whitfield Ashbury Pennington Copperfield Hawthorne Dunmore Calloway Emberly "
    "Wexford Bellamy Ravenna Osage Cherokee Tillman Harrow Lockwood Prescott"
).split()
_NAMES += [
    "Old Mill",
    "Twin Oaks",
    "Blue Heron",
    "Stony Brook",
    "Red Fox",
    "Saint Clair",
    "Dr Martin Luther King Jr",
]
# USPS Publication 28 C1: primary suffix names and the Postal Service standard abbreviations.
_SUFFIXES = (
    "Street St Avenue Ave Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Place Pl Terrace Ter "
    "Circle Cir Parkway Pkwy Highway Hwy Trail Trl Way Square Sq Crescent Cres Alley Aly Bend Bnd "
    "Bluff Blf Bypass Byp Causeway Cswy Center Ctr Cove Cv Creek Crk Crossing Xing Estates Ests "
    "Expressway Expy Freeway Fwy Gardens Gdns Glen Gln Green Grn Grove Grv Harbor Hbr Heights Hts "
    "Hollow Holw Junction Jct Knoll Knl Landing Lndg Loop Manor Mnr Meadows Mdws Orchard Orch Pike "
    "Plaza Plz Point Pt Ridge Rdg Run Shoals Shls Springs Spgs Summit Smt Trace Trce Turnpike Tpke "
    "Valley Vly View Vw Village Vlg Vista Vis Walk Path Pass Run Row Mews Close"
).split()
_WORDS = {s.lower() for s in _SUFFIXES if len(s) > 4} | {
    "way",
    "run",
    "row",
    "loop",
    "pike",
    "path",
    "pass",
    "walk",
    "mews",
}
_DIR_BEFORE = "N S E W NE NW SE SW North South East West Northeast Southwest".split()
_DIR_AFTER = "N S E W NE NW SE SW".split()
_UNITS = (
    "Apt 3",
    "Apt. 12C",
    "Apartment 5",
    "Suite 410",
    "Ste 220",
    "Ste. 9",
    "Unit 14",
    "# 7",
    "#12B",
    "Floor 3",
    "Fl 2",
    "Room 210",
    "Rm 5",
    "Bldg 4",
    "Building 2",
    "Lot 17",
    "Trlr 8",
    "Spc 21",
    "Dept 400",
    "Ph 2",
    "Upper",
    "Rear",
    "Basement",
)
_US_CITIES = [
    ("Duluth", "MN", "55802"),
    ("Eugene", "OR", "97401"),
    ("Fresno", "CA", "93721"),
    ("Mobile", "AL", "36602-3318"),
    ("Tacoma", "WA", "98402"),
    ("Ames", "IA", "50010"),
    ("Lansing", "MI", "48933"),
    ("Provo", "UT", "84601"),
    ("Bangor", "ME", "04401"),
    ("Laredo", "TX", "78040"),
]
_UK_TOWNS = [("Bath", "BA1 1AA"), ("Exeter", "EX4 3PL"), ("Durham", "DH1 3HP"), ("Swansea", "SA1 8PH")]
_UK_STREETS = ["High Street", "Mill Lane", "Orchard Close", "Wellington Road", "The Crescent", "Ash Grove"]
_AU_PLACES = [("Parramatta", "NSW", "2150"), ("Fitzroy", "VIC", "3065"), ("Toowong", "QLD", "4066")]
_AU_STREETS = ["George St", "Smith Street", "Brunswick Rd", "Kent Pde", "Oxley Hwy", "Tully Cres"]
_CA_PLACES = [("Toronto", "ON", "M5V 2T6"), ("Halifax", "NS", "B3H 1Y6"), ("Calgary", "AB", "T2P 1J9")]
_DE_STREETS = ["Mozartstraße", "Feldweg", "Lindenstr.", "Schulgasse", "Rosenplatz", "Am Anger", "Uferstraße"]
_DE_CITIES = [
    ("60325", "Frankfurt am Main"),
    ("01067", "Dresden"),
    ("28195", "Bremen"),
    ("6020", "Innsbruck"),
]
_FR_STREETS = ["rue de la Paix", "rue des Lilas", "avenue Foch", "boulevard Haussmann", "rue du Moulin"]
_FR_CITIES = [("35000", "Rennes"), ("67000", "Strasbourg"), ("1000", "Bruxelles"), ("1204", "Genève")]
_NL_STREETS = ["Kerkstraat", "Molenweg", "Zeedijk", "Lange Voorhout", "Spuistraat"]
_NL_CITIES = [("2514 EE", "Den Haag"), ("1012 NX", "Amsterdam"), ("5611 AB", "Eindhoven")]


def _n(rng: random.Random, low: int = 1, high: int = 9800) -> str:
    return str(rng.randint(low, high))


def _us_tail(rng: random.Random) -> str:
    city, state, zip_code = _US_CITIES[rng.randrange(len(_US_CITIES))]
    return _pick(rng, [", ", "\n"]) + f"{city}, {state} {zip_code}"


# ---------------------------------------------------------------- shapes


def usps_suffix(rng: random.Random) -> str:
    """House number, name, any USPS suffix or abbreviation; a city line half of the time."""
    suffix = _pick(rng, _SUFFIXES)
    if suffix.lower() not in _WORDS and rng.random() < 0.3:
        suffix += "."  # Blvd.
    street = f"{_n(rng)} {_pick(rng, _NAMES)} {suffix}"
    return street + (_us_tail(rng) if rng.random() < 0.5 else "")


def directional(rng: random.Random) -> str:
    """A directional before the name (123 N Quarry St) or after the suffix (45 Heron Ave SW)."""
    name, suffix = _pick(rng, _NAMES), _pick(rng, _SUFFIXES[:30])
    if rng.random() < 0.5:
        street = f"{_n(rng)} {_pick(rng, _DIR_BEFORE)} {name} {suffix}"
    else:
        street = f"{_n(rng)} {name} {suffix} {_pick(rng, _DIR_AFTER)}"
    return street + (_us_tail(rng) if rng.random() < 0.5 else "")


def unit_designator(rng: random.Random) -> str:
    """A street line and a secondary unit (Apt, Suite, Ste, Unit, #, Floor, Room, Bldg, Lot ...)."""
    street = f"{_n(rng)} {_pick(rng, _NAMES)} {_pick(rng, _SUFFIXES[:24])}"
    unit = _pick(rng, _UNITS)
    return street + _pick(rng, [" ", ", "]) + unit + (_us_tail(rng) if rng.random() < 0.6 else "")


def box_route(rng: random.Random) -> str:
    """PO boxes, rural routes and highway contract routes, with a city line."""
    box = _pick(
        rng,
        [
            f"PO Box {_n(rng, 1, 99999)}",
            f"P.O. Box {_n(rng, 1, 9999)}",
            f"P O Box {_n(rng, 1, 999)}",
            f"RR {_n(rng, 1, 9)} Box {_n(rng, 1, 400)}",
            f"R.R. {_n(rng, 1, 9)}, Box {_n(rng, 1, 400)}",
            f"Rural Route {_n(rng, 1, 12)} Box {_n(rng, 1, 400)}",
            f"HC {_n(rng, 1, 80)} Box {_n(rng, 1, 900)}",
            f"Rural Route {_n(rng, 1, 12)}",
        ],
    )
    return box + _us_tail(rng)


def highway(rng: random.Random) -> str:
    """Addresses on numbered roads: 12345 State Highway 40, 4200 US Hwy 101 N, 880 County Road 12."""
    road = _pick(
        rng,
        [
            f"State Highway {_n(rng, 1, 299)}",
            f"US Highway {_n(rng, 1, 399)}",
            f"US Hwy {_n(rng, 1, 399)}",
            f"Hwy {_n(rng, 1, 99)}",
            f"Highway {_n(rng, 1, 99)}",
            f"County Road {_n(rng, 1, 999)}",
            f"County Rd {rng.choice('ABCDKQ')}",
            f"State Route {_n(rng, 1, 199)}",
            f"Route {_n(rng, 1, 99)}",
            f"FM {_n(rng, 100, 3000)}",
            f"Interstate {_n(rng, 5, 95)}",
        ],
    )
    if rng.random() < 0.3:
        road += " " + _pick(rng, _DIR_AFTER)
    return f"{_n(rng, 10, 99999)} {road}" + (_us_tail(rng) if rng.random() < 0.5 else "")


def house_number(rng: random.Random) -> str:
    """House numbers with a letter, a fraction or a range: 12B, 221 1/2, 100-102, 17-A."""
    number = _pick(
        rng,
        [
            f"{_n(rng, 1, 999)}{rng.choice('ABCD')}",
            f"{_n(rng, 1, 999)} 1/2",
            f"{_n(rng, 1, 999)}½",
            f"{(low := rng.randint(1, 900))}-{low + 2 * rng.randint(1, 4)}",
            f"{_n(rng, 1, 99)}-{rng.choice('ABC')}",
        ],
    )
    street = f"{number} {_pick(rng, _NAMES)} {_pick(rng, _SUFFIXES[:24])}"
    return street + (_us_tail(rng) if rng.random() < 0.4 else "")


def uk_flat(rng: random.Random) -> str:
    """Flat 3, 14 High Street, Bath BA1 1AA."""
    town, postcode = _UK_TOWNS[rng.randrange(len(_UK_TOWNS))]
    flat = _pick(rng, ["Flat", "Flat", "Apartment", "Unit"]) + f" {_n(rng, 1, 40)}"
    street = f"{flat}, {_n(rng, 1, 300)} {_pick(rng, _UK_STREETS)}"
    sep = _pick(rng, [", ", "\n"])
    return street + sep + _pick(rng, [f"{town} {postcode}", f"{town}{sep}{postcode}", town])


def au_ca(rng: random.Random) -> str:
    """Unit 4/27 George St, Parramatta NSW 2150; 245 King St W, Toronto, ON M5V 2T6."""
    if rng.random() < 0.6:
        place, state, postcode = _AU_PLACES[rng.randrange(len(_AU_PLACES))]
        number = _pick(rng, [f"{_n(rng, 1, 30)}/{_n(rng, 1, 200)}", _n(rng, 1, 400)])
        unit = _pick(rng, ["Unit ", "", ""]) if "/" in number else ""
        return f"{unit}{number} {_pick(rng, _AU_STREETS)}, {place} {state} {postcode}"
    place, province, postcode = _CA_PLACES[rng.randrange(len(_CA_PLACES))]
    street = f"{_n(rng, 1, 3000)} {_pick(rng, _NAMES)} {_pick(rng, ['St', 'Ave', 'Rd', 'Blvd'])}"
    street += _pick(rng, ["", " W", " E"])
    return street + f", {place}, {province} {postcode}"


def europe(rng: random.Random) -> str:
    """Hauptstraße 5, 60325 Frankfurt am Main; rue de la Paix 12; 12 rue des Lilas, 35000 Rennes."""
    roll = rng.random()
    if roll < 0.4:
        postal, city = _DE_CITIES[rng.randrange(len(_DE_CITIES))]
        street = f"{_pick(rng, _DE_STREETS)} {_n(rng, 1, 200)}{_pick(rng, ['', '', 'a'])}"
    elif roll < 0.75:
        postal, city = _FR_CITIES[rng.randrange(len(_FR_CITIES))]
        name = _pick(rng, _FR_STREETS)
        street = f"{name} {_n(rng, 1, 120)}" if rng.random() < 0.4 else f"{_n(rng, 1, 120)} {name}"
    else:
        postal, city = _NL_CITIES[rng.randrange(len(_NL_CITIES))]
        street = f"{_pick(rng, _NL_STREETS)} {_n(rng, 1, 300)}"
    return street + _pick(rng, [", ", "\n"]) + f"{postal} {city}" if rng.random() < 0.7 else street


def lower_case(rng: random.Random) -> str:
    """The whole address in lower case, as typed on a phone."""
    street = f"{_n(rng)} {_pick(rng, _NAMES)} {_pick(rng, _SUFFIXES[:20])}".lower()
    if rng.random() < 0.5:
        street += _pick(rng, [" apt ", " suite ", ", unit ", " #"]) + _n(rng, 1, 400)
    city, state, zip_code = _US_CITIES[rng.randrange(len(_US_CITIES))]
    return street + f", {city.lower()}, {state.lower()} {zip_code}"


SHAPES: dict[str, Callable[[random.Random], str]] = {
    "usps_suffix": usps_suffix,
    "directional": directional,
    "unit": unit_designator,
    "box_route": box_route,
    "highway": highway,
    "house_number": house_number,
    "uk_flat": uk_flat,
    "au_ca": au_ca,
    "europe": europe,
    "lower_case": lower_case,
}

# ---------------------------------------------------------------- carriers

_CARRIERS = [
    "Pt discharged to daughter's home, {v}, with district nurse visits twice weekly.",
    "Please change the correspondence address on my savings account to {v}",
    "Mailing address: {v}",
    "EMS found the patient unresponsive at {v}; GCS 9 on arrival.",
    "Wire confirmation should go to the beneficiary at {v}.",
    "Home health referral: patient resides at {v}, lives alone.",
    "New cheque book sent to\n{v}\nRef 4471.",
    "Address on the ID card is {v} but the bill goes elsewhere.",
    "Collateral property: {v} (appraised 2023).",
    "Her son picked her up and took her home to {v} after the infusion.",
]


def shape_cases(rng: random.Random, per_shape: int) -> list[Case]:
    """``per_shape`` sentences for each shape; ``Case.lang`` holds the shape's name."""
    cases = []
    for shape, make in SHAPES.items():
        for _ in range(per_shape):
            cases.append(_case("street_address", shape, _pick(rng, _CARRIERS), make(rng), "LOCATION"))
    return cases


# ---------------------------------------------------------------- negatives

_NEGATIVE_TEXTS: list[tuple[str, tuple[str, ...]]] = [
    ("Take 2 tablets daily with food; 1 tablet at night.", ("2 tablets daily", "1 tablet")),
    ("Moved to Room 4 on Ward 7, then Room 12 on Ward 3 North.", ("Room 4", "Ward 7", "Ward 3 North")),
    ("Dx: ICD-10 E11.9 and I10; BP 120/80 mmHg, HR 64.", ("E11.9", "120/80 mmHg")),
    ("Flown to the Level 3 trauma center, then a Level 1 Trauma Center.", ("Level 3 trauma center",)),
    ("A whole suite of labs was ordered: CBC, BMP, LFTs.", ("suite of labs",)),
    ("Suite of labs pending; Suite 4 of the clinic is closed.", ("Suite of labs", "Suite 4")),
    ("CT head 2 Dr Patel reviewed; CXR clear.", ("CT head", "Dr Patel")),
    ("Route: PO, 2 tabs Route 3 times daily if needed.", ("Route: PO", "2 tabs")),
    ("Insulin lot 4452, exp 03/2026; vial 2 of 3.", ("lot 4452", "vial 2 of 3")),
    ("Seen on 4/27 at Building 2, Floor 5, Room 514 of the hospital.", ("Building 2", "Room 514")),
    ("Pt apt to fall 2 times a week, uses a walker.", ("apt to fall",)),
    ("Level 2 NICU, Bed 14; 3 kg at 36 weeks.", ("Level 2", "Bed 14", "3 kg")),
    ("Loan 55 Term 360 months at 6.1% APR; Branch 12 Main office.", ("360 months", "Branch 12")),
    ("Grade 2 Ct 30 on PCR, 5 Ct values repeated.", ("Grade 2", "Ct 30")),
    ("Hb 9.8 g/dL, 2 units PRBC given, 1 unit FFP.", ("2 units PRBC", "1 unit")),
    ("Stage IIIB, cycle 4 of 6; ECOG 2; 12 Gy in 3 fractions.", ("cycle 4 of 6", "12 Gy")),
    ("Walked 200 m down the hall and 2 flights of stairs.", ("200 m", "2 flights")),
    ("Transfer 1,200 USD to account 0042 on the 15th; PIN reset at ATM 7.", ("1,200 USD", "ATM 7")),
    ("On Highway code questions the pt scored 8 of 10.", ("8 of 10",)),
    ("Ward 5 East Wing, Bay 2, Bed 3; Theatre 4 at 09:00.", ("Ward 5 East", "Bay 2", "Theatre 4")),
]


def negatives() -> list[Negative]:
    """Clinical and banking sentences with address look-alikes and no address."""
    return [Negative("en", text, keep) for text, keep in _NEGATIVE_TEXTS]


def generate(per_shape: int = 40, seed: int = 2718) -> list[Case]:
    """The held-out cases: ``per_shape`` for each shape."""
    return shape_cases(random.Random(seed), per_shape)


def main() -> None:
    import os
    import sys

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy
    from tests.unit.pii.heldout import is_found

    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32))
    cases = generate(seed=int(sys.argv[1]) if len(sys.argv) > 1 else 2718)
    found = [is_found(case, detector.detect(case.text), 0.5) for case in cases]
    for shape, (hit, total) in recall_by_shape(cases, found).items():
        print(f"{shape:<14}{hit:>4}/{total:<4}{hit / total:>7.3f}")
    print(f"{'all':<14}{sum(found):>4}/{len(found):<4}{sum(found) / len(found):>7.3f}")
    for case, hit in zip(cases, found, strict=True):
        if not hit:
            print("missed:", repr(case.text))
    for negative in negatives():
        hits = [f for f in detector.detect(negative.text) if f.entity_type == "LOCATION" and f.score >= 0.3]
        if hits:
            print("false:", repr(negative.text), [negative.text[f.start : f.end] for f in hits])


if __name__ == "__main__":
    main()
