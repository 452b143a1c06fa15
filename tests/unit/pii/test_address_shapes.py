"""Street addresses by shape (tests/unit/pii/heldout_address_shapes.py), one test per shape, and the
look-alikes of a hospital or a bank that must stay text."""

from __future__ import annotations

import time

import pytest

from policies.pii.analyzer import Finding
from policies.pii.normalize import normalize
from policies.pii.recognizers_address_en import StreetAddressRecognizer
from tests.unit.pii import heldout_address_shapes
from tests.unit.pii.heldout import is_found

_RECOGNIZER = StreetAddressRecognizer()


def _addresses(text: str, min_score: float = 0.5) -> list[str]:
    """The addresses found in ``text`` as the detector sees it (normalized), on the original text."""
    norm = normalize(text)
    found = []
    for result in _RECOGNIZER.analyze(norm.text, ["LOCATION"]):
        if result.score >= min_score:
            start, end = norm.to_original(result.start, result.end)
            found.append(text[start:end].rstrip(".,; \n"))
    return found


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # USPS suffix abbreviations
        ("Sent to 2645 Lockwood Xing, then back.", "2645 Lockwood Xing"),
        ("Wire to 88 Quarry Hts.", "88 Quarry Hts"),
        ("Pt lives at 410 Osage Jct, Ames, IA 50010", "410 Osage Jct, Ames, IA 50010"),
        ("Collateral: 12 Heron Vly\nLansing, MI 48933", "12 Heron Vly\nLansing, MI 48933"),
        # directionals
        ("Seen at 9397 Harrow Dr S, Lansing, MI 48933 today", "9397 Harrow Dr S, Lansing, MI 48933"),
        ("EMS to 1554 Larkspur St W after the call.", "1554 Larkspur St W"),
        ("Ship to 123 N Quarry St.", "123 N Quarry St"),
        # unit designators
        (
            "Sent to 366 Pennington Court Lot 17, Provo, UT 84601",
            "366 Pennington Court Lot 17, Provo, UT 84601",
        ),
        (
            "Mail to 120 Birchwood Place, Spc 21, Fresno, CA 93721",
            "120 Birchwood Place, Spc 21, Fresno, CA 93721",
        ),
        (
            "Mail to 56 Prescott Avenue 3rd Floor, Eugene, OR 97401",
            "56 Prescott Avenue 3rd Floor, Eugene, OR 97401",
        ),
        # PO boxes, rural routes, highway contracts
        ("Send it to RR 2 Box 152, Ames, IA 50010", "RR 2 Box 152, Ames, IA 50010"),
        ("Statement to R.R. 4, Box 7\nDuluth, MN 55802", "R.R. 4, Box 7\nDuluth, MN 55802"),
        ("Address: HC 61 Box 12, Bangor, ME 04401", "HC 61 Box 12, Bangor, ME 04401"),
        ("Moved to Rural Route 3, Provo, UT 84601", "Rural Route 3, Provo, UT 84601"),
        ("Mail to P O Box 77, Laredo, TX 78040", "P O Box 77, Laredo, TX 78040"),
        # highways
        ("EMS to 12345 State Highway 40 for a fall.", "12345 State Highway 40"),
        ("Cheque to 4200 US Hwy 101 N, Eugene, OR 97401", "4200 US Hwy 101 N, Eugene, OR 97401"),
        ("Farm at 880 County Road 12, Ames, IA 50010", "880 County Road 12, Ames, IA 50010"),
        ("Lives at 7700 FM 1960 W with her son.", "7700 FM 1960 W"),
        # house numbers
        ("Home: 221 1/2 Elm St, Duluth, MN 55802", "221 1/2 Elm St, Duluth, MN 55802"),
        ("Sent to 48-B Whitfield Blvd today.", "48-B Whitfield Blvd"),
        ("Sent to 100-102 Quarry Rd today.", "100-102 Quarry Rd"),
        ("Sent to 594½ Calloway Avenue today.", "594½ Calloway Avenue"),
        # UK, AU, CA, EU
        ("Address: Flat 3, 14 High Street, Bath BA1 1AA", "Flat 3, 14 High Street, Bath BA1 1AA"),
        ("Home visit at Flat 5, 239 The Crescent, Exeter", "Flat 5, 239 The Crescent, Exeter"),
        ("Unit 4/27 George St, Parramatta NSW 2150", "Unit 4/27 George St, Parramatta NSW 2150"),
        ("Sent to 245 King St W, Toronto, ON M5V 2T6.", "245 King St W, Toronto, ON M5V 2T6"),
        ("Anschrift: Hauptstraße 5, 60325 Frankfurt am Main", "Hauptstraße 5, 60325 Frankfurt am Main"),
        ("Took her home to Am Anger 113a after the infusion.", "Am Anger 113a"),
        ("Adresse: rue de la Paix 12, 35000 Rennes", "rue de la Paix 12, 35000 Rennes"),
        # lower case and other scripts
        ("mailing address: 3330 foxglove circle, eugene, or 97401", "3330 foxglove circle, eugene, or 97401"),
        (
            "to 2109 ashbury place suite 285, mobile, al 36602",
            "2109 ashbury place suite 285, mobile, al 36602",
        ),
        (
            "user: 0605 πεντέλης 210 apt. 999\ndelmas, mp 35739",
            "0605 πεντέλης 210 apt. 999\ndelmas, mp 35739",
        ),
        (
            "It's in Λεωφόρος Συγγρού 119\n ΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ\n Cyprus",
            "Λεωφόρος Συγγρού 119\n ΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ\n Cyprus",
        ),
        # what confirms a name and a number
        ("Pedestrians enter on Tjalle Wei 12 St. first", "Tjalle Wei 12 St"),
        ("Dinner at Locavore, 17 Nerudova 233, Kutná Hora", "17 Nerudova 233, Kutná Hora"),
        ("The early shows on Quarry Hills Street were loud.", "Quarry Hills Street"),
        ("Patient at 5356 Juniper Street\nMobile, AL 36602", "5356 Juniper Street\nMobile, AL 36602"),
    ],
)
def test_each_shape_is_found_whole(text: str, address: str) -> None:
    assert _addresses(text) == [address]


@pytest.mark.parametrize("negative", heldout_address_shapes.negatives(), ids=lambda n: n.text[:40])
def test_hospital_and_bank_look_alikes_are_no_address(negative: heldout_address_shapes.Negative) -> None:
    assert _addresses(negative.text, min_score=0.3) == []


@pytest.mark.parametrize(
    "text",
    [
        "RR 18, HR 72, BP 120/80; Na 140 CR 12.",  # a respiratory rate, not a rural route
        "Dose 2 route IV, 4 units Route 3 times.",
        "The King Street branch and the Fifth Avenue clinic; on Main Street Pharmacy's list.",
        "Started on Metformin 500 and Lisinopril 10, Stage 3 review.",
        "Mobile: 0490 39 07 81; Desk: 212 555 0100",
        "give 10 units insulin 4 apt 2 times",
        "She is apt to fall 2 times a week, Grade 2 Ct 30.",
        "Am 5 and Im 3 scores; In Room 4 on Ward 7.",
        "Bond yields rose on Wall Street; she trained on Harley Street.",  # institutions, not homes
    ],
)
def test_shape_look_alikes_are_not_addresses(text: str) -> None:
    assert _addresses(text, min_score=0.5) == []


def test_generated_shapes_are_found() -> None:
    cases = heldout_address_shapes.generate(per_shape=30, seed=31)
    found = []
    for case in cases:
        norm = normalize(case.text)
        findings = []
        for result in _RECOGNIZER.analyze(norm.text, ["LOCATION"]):
            start, end = norm.to_original(result.start, result.end)
            findings.append(Finding("LOCATION", start, end, result.score))
        found.append(is_found(case, findings, 0.5))
    for shape, (hit, total) in heldout_address_shapes.recall_by_shape(cases, found).items():
        assert hit / total >= 0.85, (shape, hit, total)
    assert sum(found) / len(found) >= 0.95


@pytest.mark.parametrize(
    "unit",
    [
        "RR 1 RR 1 Box ",
        "12 State Highway 12 County ",
        "1 a b c d e 2 apt ",
        "on Aa Bb Cc Dd Ee Street ",
        "Hoge Wei 32 ",
        "1 Ab 2, Cd Ef Gh Ij Kl ",
        "mobile, al mobile, ",
        "1 Aa Bb Cc Dd Ee Ff Gg Hh Xing ",
    ],
)
def test_new_shapes_take_linear_time(unit: str) -> None:
    def cpu_seconds(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        runs = []
        for _ in range(3):
            started = time.thread_time()
            _RECOGNIZER.analyze(text, ["LOCATION"])
            runs.append(time.thread_time() - started)
        return min(runs)

    small, large = cpu_seconds(10_000), cpu_seconds(20_000)
    assert large < 5.0
    assert large < 3 * small + 0.05
