"""IBANs in any casing (issue 18, item 8): Presidio's recognizer matched upper case only, so
``de89 3704 0044 0532 0130 00`` and ``gb29nwbk60161331926819`` reached the engine."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.recognizers_en import IbanCodeRecognizer, iban_at
from tests.unit.pii.heldout_zh import generate, iban, is_found, recall_table


def _ibans(detector: PIIDetector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text) if f.entity_type == "IBAN_CODE"]


@pytest.mark.parametrize(
    "value",
    [
        "de89 3704 0044 0532 0130 00",
        "gb29nwbk60161331926819",
        "DE89 3704 0044 0532 0130 00",
        "DE89-3704-0044-0532-0130-00",
        "Gb29 Nwbk 6016 1331 9268 19",
        "fr14 2004 1010 0505 0001 3m02 606",
        "nl91abna0417164300",
        "ch93  0076  2011  6238  5295  7",
    ],
)
@pytest.mark.parametrize("template", ["IBAN {v}", "please wire it to {v}.", "收款账号：{v}，请核对", "({v})"])
def test_an_iban_is_found_whole_in_any_casing_and_grouping(
    detector: PIIDetector, value: str, template: str
) -> None:
    text = template.replace("{v}", value)
    assert _ibans(detector, text) == [value]


@pytest.mark.parametrize(
    "text",
    [
        "de89 3704 0044 0532 0130 01",  # check digits do not match
        "de89370400440532013000x",  # glued to a letter
        "xx89 3704 0044 0532 0130 00",  # no such country
        "de89 3704 0044 0532 0130",  # too short for Germany
        "room de12, bed 4, ward 7",
        "version ab12 released",
    ],
)
def test_strings_that_are_no_iban_are_not_reported(text: str) -> None:
    assert IbanCodeRecognizer().analyze(text, ["IBAN_CODE"]) == []


def test_an_iban_ends_where_its_country_length_ends() -> None:
    text = "DE89 3704 0044 0532 0130 00 12 EUR"
    assert iban_at(text, 0) == len("DE89 3704 0044 0532 0130 00")


CASES = [c for c in generate(per_class=80, seed=1818) if c.cls == "iban_any_case"]


def test_recall_of_ibans_in_any_casing(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    findings = detector.detect_many([c.text for c in CASES])
    table = recall_table(CASES, findings, pii_policy.profile("default").min_score)
    for (_cls, lang), (hit, total) in table.items():
        misses = [c.value for c, f in zip(CASES, findings, strict=True) if not is_found(c, f, 0.5)]
        assert hit == total, (lang, hit, total, misses[:5])


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    casing=st.sampled_from(["upper", "lower", "random"]),
    separator=st.sampled_from(["", " ", "-", "  "]),
)
def test_any_valid_iban_in_any_casing_is_found_and_a_changed_digit_is_not(
    seed: int, casing: str, separator: str
) -> None:
    rng = random.Random(seed)
    value = iban(rng)
    if casing == "lower":
        value = value.lower()
    elif casing == "random":
        value = "".join(ch.lower() if rng.random() < 0.5 else ch for ch in value)
    grouped = separator.join(value[i : i + 4] for i in range(0, len(value), 4)) if separator else value
    text = f"Refund to {grouped} today"
    assert [(r.start, r.end) for r in IbanCodeRecognizer().analyze(text, ["IBAN_CODE"])] == [
        (10, 10 + len(grouped))
    ]
    position = next(i for i, ch in enumerate(value) if i > 4 and ch.isdigit())
    broken = value[:position] + str((int(value[position]) + 1) % 10) + value[position + 1 :]
    assert IbanCodeRecognizer().analyze(f"Refund to {broken} today", ["IBAN_CODE"]) == []
