"""The streaming filter with the real PII detector: leaked identifiers never get out, prose is not held."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.output.config import CompiledRules
from policies.output.stream_filter import StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from tests import pii_corpus


@pytest.fixture(scope="module")
def real_detector() -> PIIDetector:
    return PIIDetector(load_default_pii_policy(), cache_key=b"k" * 32, cache_entries=100)


def _values() -> list[tuple[str, str]]:
    rng = random.Random(7)
    return [
        ("cn_id", pii_corpus.cn_id(rng)),
        ("unionpay", pii_corpus.unionpay_card(rng)),
        ("iban", pii_corpus.group_iban(pii_corpus.iban(rng))),
        ("ssn", pii_corpus.ssn(rng)),
        ("cn_mobile", pii_corpus.cn_mobile(rng)),
        ("us_phone", pii_corpus.us_phone(rng)[0]),
        ("email", "lena.morgenstern@example.org"),
    ]


VALUES = _values()
TEMPLATES = ["The number is {v}. Please keep it safe.", "请联系 {v} 确认。", "Contact: {v}", "{v} is on file"]


def _run(filt: StreamFilter, text: str, cuts: list[int]) -> str:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    out = [filt.feed("0.content", text[a:b]).text for a, b in itertools.pairwise(points)]
    out.append(filt.finish("0.content").text)
    return "".join(out)


def _filter(rules: CompiledRules, detector: PIIDetector) -> StreamFilter:
    return StreamFilter(
        rules, None, detector=detector.detect_patterns_only, max_entity_len=detector.max_pattern_length
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.sampled_from(VALUES),
    template=st.sampled_from(TEMPLATES),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_leaked_identifier_never_reaches_the_client(
    real_detector: PIIDetector,
    analyst_rules: CompiledRules,
    value: tuple[str, str],
    template: str,
    cuts: list[int],
) -> None:
    text = template.format(v=value[1])
    out = _run(_filter(analyst_rules, real_detector), text, cuts)
    assert value[1] not in out
    digits = "".join(ch for ch in value[1] if ch.isdigit())
    if digits:
        assert digits not in "".join(ch for ch in out if ch.isdigit())


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_single_cut_leaks_an_identifier(
    real_detector: PIIDetector, analyst_rules: CompiledRules, template: str
) -> None:
    """The property above, exhaustively for one cut and more strictly: every value in every
    template cut at every position gives the whole text's output (hypothesis's random cuts favour
    small positions, and a value's first group going out alone would pass its checks)."""
    for _, value in VALUES:
        text = template.format(v=value)
        whole = _any_marker(_run(_filter(analyst_rules, real_detector), text, []))
        assert value not in whole
        for cut in range(len(text) + 1):
            # The same characters go out as from the whole text (a cut may change which type
            # names a value: "297-54-2364" is a phone whole, an SSN with "The number is" alone).
            assert _any_marker(_run(_filter(analyst_rules, real_detector), text, [cut])) == whole, cut


def _any_marker(out: str) -> str:
    return re.sub(r"\[REDACTED_[A-Z_]+\]", "[REDACTED]", out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=st.sampled_from(
        [
            ("The refund went to account 483920117 yesterday.", ["483920117"]),
            ("Use routing number 021000021 and sort code 20-45-77.", ["021000021", "20-45-77"]),
            ("Her passport number is X12345678, issued 2019.", ["X12345678"]),
            ("Pickup at 37.7749° N, 122.4194° W tonight.", ["37.7749", "122.4194"]),
        ]
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=12),
)
def test_accounts_passports_and_coordinates_never_reach_the_client(
    real_detector: PIIDetector, analyst_rules: CompiledRules, case: tuple[str, list[str]], cuts: list[int]
) -> None:
    text, values = case
    out = _run(_filter(analyst_rules, real_detector), text, cuts)
    for value in values:
        assert value not in out


def test_one_character_chunks_catch_a_phone_number(
    real_detector: PIIDetector, analyst_rules: CompiledRules
) -> None:
    text = "Call the ward at 415-555-0132 tomorrow."
    out = _run(_filter(analyst_rules, real_detector), text, list(range(len(text))))
    assert "415-555-0132" not in out and "tomorrow." in out


def test_prose_with_small_numbers_is_released_without_the_full_window(
    real_detector: PIIDetector, analyst_rules: CompiledRules
) -> None:
    filt = _filter(analyst_rules, real_detector)
    released = ""
    text = "Take Metformin 500 mg twice daily; HbA1c was 7.2% and blood pressure 130/85 mmHg at the visit."
    for word in text.split(" "):
        released += filt.feed("0.content", word + " ").text
        # Held text is at most the word in progress plus digit groups joined to it.
        assert filt.held("0.content") <= 16
    released += filt.finish("0.content").text
    assert released == text + " "


# ----------------------------------------------------------------------------- names in streams

NAME_SENTENCES = [
    ("Dr. Margaret Holloway reviewed the chart this morning.", "Margaret Holloway"),
    ("The referral letter was written by Thomas Whitfield; he agrees.", "Thomas Whitfield"),
    ("Please ask Priya Raman to confirm the dose of Metformin 500 mg.", "Priya Raman"),
    ("患者王建国今日复查，血压 130/85 mmHg。", "王建国"),
    ("According to the notes, Hannah Becker was discharged. Follow up in 2 weeks.", "Hannah Becker"),
]


def _names_filter(rules: CompiledRules, detector: PIIDetector) -> StreamFilter:
    return StreamFilter(
        rules,
        None,
        detector=detector.detect_patterns_only,
        max_entity_len=detector.max_pattern_length,
        name_detector=detector.detect,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sample=st.sampled_from(NAME_SENTENCES),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=10),
)
def test_a_name_the_model_writes_never_reaches_the_client(
    real_detector: PIIDetector, analyst_rules: CompiledRules, sample: tuple[str, str], cuts: list[int]
) -> None:
    text, name = sample
    out = _run(_names_filter(analyst_rules, real_detector), text, cuts)
    assert name not in out
    assert "[REDACTED_PERSON]" in out
    for surname_part in name.split()[-1:]:
        assert surname_part not in out


def test_names_in_one_character_chunks_and_clinical_facts_survive(
    real_detector: PIIDetector, analyst_rules: CompiledRules
) -> None:
    text = "Summary for Alice Brennan: HbA1c 7.2%, blood pressure 130/85 mmHg. Continue Metformin 500 mg."
    out = _run(_names_filter(analyst_rules, real_detector), text, list(range(len(text))))
    assert "Alice" not in out and "Brennan" not in out
    assert "HbA1c 7.2%, blood pressure 130/85 mmHg. Continue Metformin 500 mg." in out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ｊｏｈｎ Ｓｍｉｔｈ reviewed the chart.", "Ｓｍｉｔｈ"),
        ("The plan is set; the referral went to Ólafur Þórsson today; ok.", "Þórsson"),
    ],
)
def test_names_without_an_ascii_capital_are_looked_for(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, name: str
) -> None:
    for cuts in ([], list(range(0, len(text), 3))):
        out = _run(_names_filter(analyst_rules, real_detector), text, cuts)
        assert name not in out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.sampled_from(
        [
            "Bed in room 12 212-736-5000 today.",
            "Bed in room 7 212 736 5000 today.",
            "Ward 305/415.555.0132, ask for the nurse.",
            "She called 617-555-0123 12 times.",
            "Bed 4 020 7946 0958, daughter.",
        ]
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=10),
)
def test_short_number_before_a_phone_does_not_let_it_through(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, cuts: list[int]
) -> None:
    out = _run(_filter(analyst_rules, real_detector), text, cuts)
    phone_digits = [
        "".join(ch for ch in value if ch.isdigit())
        for value in ("212-736-5000", "415.555.0132", "617-555-0123", "020 7946 0958")
    ]
    released = "".join(ch for ch in out if ch.isdigit())
    assert not any(digits in released for digits in phone_digits), out
    assert out.endswith(text[-6:])  # the prose after the phone is released


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.sampled_from(
        [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",  # IPv6
            "fe80:0:0:0:200:f8ff:fe21:67cf",
            "20:c7:51:24:47:e3",  # MAC addresses
            "F4-43-00-02-6B-6E",
        ]
    ),
    template=st.sampled_from(["login from {v} flagged", "device MAC {v} on the ward", "{v}"]),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=12),
)
def test_an_address_cut_at_its_colons_never_leaks_a_group(
    real_detector: PIIDetector, analyst_rules: CompiledRules, value: str, template: str, cuts: list[int]
) -> None:
    """A stream cut between the groups of an IPv6 or MAC address: the groups before the cut are
    held with the rest, not released as text that no longer looks like an address."""
    text = template.format(v=value)
    out = _run(_filter(analyst_rules, real_detector), text, cuts)
    groups = [g for g in value.replace("-", ":").replace(".", ":").split(":") if g]
    for a, b in itertools.pairwise(groups):
        for separator in ":-.":
            assert f"{a}{separator}{b}" not in out, out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *(
            (f"License plate {plate} in bay 4.", plate)
            for plate in ("278 MEB", "KXR 4821", "123-ABC", "7ABC123")
        ),
        ("DOB July 4, 1981 confirmed", "July 4, 1981"),  # the day and month wait for the year
        ("date of birth: 4th of July, 1981.", "4th of July, 1981"),
        ("desk (415) 555-8438 ext. 675 today", "555-8438 ext. 675"),  # the number waits for its extension
        ("call 020 7946 0958 x 12 after lunch", "0958 x 12"),
        # a street address: the house number waits for its street, the street for its number
        ("She lives at 17066 Heather Grove Apt. 915 with her son.", "17066 Heather Grove Apt. 915"),
        ("She lives at Flat 24 586 Kevin Road with her son.", "Flat 24 586 Kevin Road"),
        ("Send the letter to Calle Mayor 12, 28013 Madrid by Friday.", "Calle Mayor 12"),
        ("Send the letter to Röhrdanzplatz 83/53 by Friday.", "Röhrdanzplatz 83/53"),
        ("She lives at Theda-Junk-Allee 894 with her son.", "Theda-Junk-Allee 894"),
        ("She lives at Röhrichtweg 52 with her son.", "Röhrichtweg 52"),  # a number under 1000
        ("Send the letter to Rambla de Pascuala Camino 13 Puerta 4 by Friday.", "Rambla de Pascuala"),
        ("She lives at Viale Gioachino, 96 Piano 1 with her son.", "Viale Gioachino, 96 Piano 1"),
        ("地址：江苏省南京市鼓楼区中山北路249号25栋2406室，请送达", "江苏省南京市"),  # a Chinese address
        # invisible characters inside a card number
        ("card 4\u200e2\u200c2\u20662\u200d83\u20664\u20605984\u200c55\u200b51\u200b3 expires", "4\u200e2"),
    ],
)
def test_a_value_cut_anywhere_comes_out_as_whole(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, value: str
) -> None:
    """Every single cut, and every pair of cuts around the value, gives the whole text's output:
    a plate's digits wait for its letters, a written date's day and month for its year, a phone
    number for its extension, a house number for its street, invisible characters for the digits
    around them."""
    whole = _run(_filter(analyst_rules, real_detector), text, [])
    assert value not in whole
    start = text.index(value)
    around = range(start - 2, start + len(value) + 3)
    for cuts in [[c] for c in range(len(text) + 1)] + [[a, b] for a in around for b in around if a < b]:
        assert _run(_filter(analyst_rules, real_detector), text, cuts) == whole, cuts


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("Her e-mail is jane [dot] parker [at] mail [dot] com; call her.", "mail [dot] com"),
        ("mail jane(at)corp(dot)io today", "corp(dot)io"),
        ("email john . doe @ example . com please", "example . com"),
        ("write to jane [at] corp [dot] io or call", "corp [dot] io"),
    ],
)
def test_an_obfuscated_e_mail_address_is_redacted_in_a_stream(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, domain: str
) -> None:
    """It holds no "@" or digit, which made a stream skip the detector: whole and cut anywhere, the
    address's at-sign and domain never go out (a cut right after the first word may let that word
    out: nothing marks it as an address yet)."""
    assert domain not in _run(_filter(analyst_rules, real_detector), text, [])
    for cut in range(len(text) + 1):
        out = _run(_filter(analyst_rules, real_detector), text, [cut])
        assert domain not in out and "[at]" not in out and "(at)" not in out, (cut, out)


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("the immatriculation AB-123-CD is on file.", "AB-123-CD"),
        ("her vehicle number MH 12 AB 1234 today.", "MH 12 AB 1234"),
        ("the kenteken 12-ABC-3 is known.", "12-ABC-3"),
        ("license plate number is kxr-4821 ok", "kxr-4821"),
    ],
)
def test_plates_of_three_and_four_groups_never_go_out_in_part(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, plate: str
) -> None:
    whole = _run(_filter(analyst_rules, real_detector), text, [])
    assert "[REDACTED_VEHICLE_PLATE]" in whole and plate not in whole, whole
    for cut in range(len(text) + 1):
        assert _run(_filter(analyst_rules, real_detector), text, [cut]) == whole, cut
