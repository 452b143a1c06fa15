"""Streamed identifiers of every shape the pattern recognizers know are caught, however the answer
is cut into chunks: plates, phones in Chinese numerals, SSNs with spaced or dashed digits, values
whose context word ("SSN", "plate") went out in an earlier chunk."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.output.config import CompiledRules
from policies.output.stream_filter import Span, StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy

from .conftest import FakeSpan, run_chunks


@pytest.fixture(scope="module")
def real_detector() -> PIIDetector:
    return PIIDetector(load_default_pii_policy(), cache_key=b"s" * 32, cache_entries=100)


def _filter(rules: CompiledRules, detector: PIIDetector) -> StreamFilter:
    return StreamFilter(
        rules, None, detector=detector.detect_patterns_only, max_entity_len=detector.max_pattern_length
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _cut(text: str, cuts: Sequence[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points) if b > a]


# (answer, the value, what must not be released of it)
SHAPES = [
    ("The plate KXR-4821 was seen at the gate.", "KXR-4821", ["KXR", "4821"]),
    ("The car, plate 沪A7K3M2, was towed.", "沪A7K3M2", ["A7K3M2", "K3M2"]),
    ("车牌沪A7K3M2的车主已通知。", "沪A7K3M2", ["A7K3M2", "K3M2"]),
    ("请拨打一三八一二三四五六七八联系家属。", "一三八一二三四五六七八", ["一三八一二", "三四五六七八"]),
    ("Her SSN is 5 3 6 2 2 1 2 3 4 per the chart.", "5 3 6 2 2 1 2 3 4", ["2 1 2 3 4"]),
    ("Her SSN is 536\u201322\u20131234 per the chart.", "536\u201322\u20131234", ["536", "1234"]),
    ("SSN: 536221234. Noted.", "536221234", ["536221234"]),
    ("Pay to de89370400440532013000 by Friday.", "de89370400440532013000", ["0532013000"]),
    ("Pay to IBAN de89 3704 0044 0532 0130 00 now.", "de89 3704 0044 0532 0130 00", ["0532", "0130"]),
]


@pytest.mark.parametrize(("text", "value", "fragments"), SHAPES)
def test_a_value_split_across_chunks_is_redacted(
    real_detector: PIIDetector, analyst_rules: CompiledRules, text: str, value: str, fragments: list[str]
) -> None:
    start = text.index(value)
    splits = [
        [text],
        list(text),
        _words(text),
        _cut(text, [start + len(value) // 2]),  # 沪A7 | K3M2, 一三八一二 | 三四五六七八
        _cut(text, [start, start + 1, start + 3]),  # the context word goes out alone first
    ]
    for chunks in splits:
        out = run_chunks(_filter(analyst_rules, real_detector), chunks)
        assert "[REDACTED_" in out, (chunks, out)
        for fragment in fragments:
            assert fragment not in out, (chunks, out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=st.sampled_from(SHAPES), cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=10))
def test_any_cut_of_a_new_shape_is_redacted(
    real_detector: PIIDetector,
    analyst_rules: CompiledRules,
    sample: tuple[str, str, list[str]],
    cuts: list[int],
) -> None:
    text, _, fragments = sample
    out = run_chunks(_filter(analyst_rules, real_detector), _cut(text, cuts))
    for fragment in fragments:
        assert fragment not in out


def test_clinical_numbers_still_go_out_without_a_detector_call(analyst_rules: CompiledRules) -> None:
    calls: list[str] = []

    def detector(text: str) -> Sequence[Span]:
        calls.append(text)
        return []

    filt = StreamFilter(analyst_rules, None, detector=detector, max_entity_len=96)
    text = "Aspirin 300 mg, heart rate 96, blood pressure 142 / 88, leads V4 - V6, repeat in 3 hours. "
    assert run_chunks(filt, _words(text)) == text
    assert calls == []


# A lower-case IBAN, as a recognizer that reads them would report it (the filter's part: the
# detector is called, and the value is held whole while it can still grow).
_LOWER_IBAN = re.compile(r"(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){4,7}(?: ?[a-z0-9]{1,3})?\b")


def _iban_detector(text: str) -> Sequence[Span]:
    return [FakeSpan("IBAN_CODE", m.start(), m.end()) for m in _LOWER_IBAN.finditer(text)]


@pytest.mark.parametrize("iban", ["de89370400440532013000", "de89 3704 0044 0532 0130 00"])
def test_a_lower_case_iban_reaches_the_detector_whole(analyst_rules: CompiledRules, iban: str) -> None:
    text = f"Pay to {iban} by Friday."
    for chunks in ([text], list(text), _words(text)):
        filt = StreamFilter(analyst_rules, None, detector=_iban_detector, max_entity_len=96)
        assert run_chunks(filt, chunks) == "Pay to [REDACTED_IBAN_CODE] by Friday.", chunks
