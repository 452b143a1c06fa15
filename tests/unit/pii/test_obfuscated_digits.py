"""Digits disguised with spaces, dashes of every width, slashes, line breaks or Chinese numerals are
found; normalization keeps dates, ratios and columns of numbers apart."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.normalize import normalize
from tests.unit.pii.heldout import OBFUSCATING_SEPARATORS

_ssn_digits = st.builds(
    lambda area, group, serial: f"{area:03d}{group:02d}{serial:04d}",
    st.integers(1, 899).filter(lambda n: n != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
).filter(lambda d: len(set(d)) > 1 and d not in ("123456789", "987654320", "078051120"))
_gaps = st.lists(
    st.text(alphabet=st.sampled_from(OBFUSCATING_SEPARATORS), min_size=0, max_size=2), min_size=8, max_size=8
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    digits=_ssn_digits,
    gaps=_gaps,
    template=st.sampled_from(["SSN {v}", "ssn: {v}.", "Social Security number {v}"]),
)
def test_ssn_with_any_separators_next_to_ssn_word_is_found(
    detector: PIIDetector, digits: str, gaps: list[str], template: str
) -> None:
    value = digits[0] + "".join(gap + digit for gap, digit in zip(gaps, digits[1:], strict=True))
    text = template.format(v=value)
    start = text.index(value)
    found = [f for f in detector.detect(text) if f.entity_type == "US_SSN" and f.score >= 0.5]
    assert any(f.start <= start and start + len(value) <= f.end for f in found), (text, found)


def _found(detector: PIIDetector, text: str, entity_type: str) -> list[str]:
    return [
        text[f.start : f.end]
        for f in detector.detect(text)
        if f.entity_type == entity_type and f.score >= 0.5
    ]


def test_card_number_with_a_line_break_is_found(detector: PIIDetector) -> None:
    assert _found(detector, "Card number\n4111 1111\n1111 1111\nexp 08/27", "CREDIT_CARD") == [
        "4111 1111\n1111 1111"
    ]
    assert _found(detector, "card: 3782–8224–6310\r\n005 ok", "CREDIT_CARD") == ["3782–8224–6310\r\n005"]


def test_dashes_and_slashes_between_phone_groups(detector: PIIDetector) -> None:
    # Area code 553 is unassigned: only the phone word makes these phones.
    for phone in ("553–504–3135", "553—504—3135", "553/504/3135", "(553) 504–3135"):
        assert _found(detector, f"call me on {phone}", "PHONE_NUMBER") == [phone]


def test_mobile_written_in_chinese_numerals_is_a_phone(detector: PIIDetector) -> None:
    for mobile in ("一三八一二三四五六七八", "幺三九〇〇幺二三四五六", "一五零 六二七三 零四四八"):
        assert _found(detector, f"手机{mobile}，请回电", "PHONE_NUMBER") == [mobile]


def test_chinese_numerals_are_digits_only_in_long_runs() -> None:
    text = "二甲双胍一次一片，三个月后复查，二〇二四年三月五日"
    assert normalize(text).text == text.replace("，", ",")
    assert normalize("电话一三八一二三四五六七八").text == "电话13812345678"


def test_dates_ratios_and_number_columns_stay_apart() -> None:
    for text in ("seen 03/05/2024 and 2024/03/05", "BP 120/80, 5/3/24", "Na\n138\n140\n142\n139"):
        assert normalize(text).text == text
    assert normalize("ssn 536–22–1234 / 536/22/1234").text == "ssn 536221234 / 536221234"
