"""detect_patterns_only skips work, never findings: it matches Presidio's plain analysis exactly."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.errors import DetectionUnavailable
from policies.pii.analyzer import PIIDetector
from policies.pii.normalize import normalize
from policies.pii.recognizers_en_phones_cards import _RememberingMatcher
from tests.pii_corpus import Sample, generate

CORPUS = generate(360, seed=7) + generate()


def _windows(samples: list[Sample], seed: int = 11) -> list[str]:
    """Short windows such as the streaming output filter scans: random cuts of 20-120 characters,
    each labelled value with some text around it, and values cut off in the middle."""
    rng = random.Random(seed)
    windows: list[str] = []
    for sample in samples:
        text = sample.text
        for _ in range(4):
            length = rng.randint(20, 120)
            start = rng.randint(0, max(0, len(text) - length))
            windows.append(text[start : start + length])
        for span in sample.spans:
            start = max(0, span.start - rng.randint(0, 40))
            windows.append(text[start : span.end + rng.randint(0, 25)])
            windows.append(text[start : rng.randint(span.start + 1, span.end)])
    return windows


WINDOWS = _windows(CORPUS[:360])


def _fast(detector: PIIDetector, text: str) -> object:
    try:
        return detector.detect_patterns_only(text)
    except DetectionUnavailable:
        return "unavailable"


def _reference(detector: PIIDetector, text: str) -> object:
    try:
        return detector._detect_patterns_reference(text)
    except Exception:
        return "unavailable"


def _mismatches(detector: PIIDetector, texts: list[str]) -> list[tuple[str, object, object]]:
    out = []
    for text in texts:
        fast, reference = _fast(detector, text), _reference(detector, text)
        if fast != reference:
            out.append((text, fast, reference))
    return out


def test_corpus_findings_are_identical_to_the_plain_analysis(detector: PIIDetector) -> None:
    mismatches = _mismatches(detector, [sample.text for sample in CORPUS])
    assert mismatches == [], mismatches[:3]


def test_short_window_findings_are_identical_to_the_plain_analysis(detector: PIIDetector) -> None:
    assert len(WINDOWS) > 2000
    mismatches = _mismatches(detector, WINDOWS)
    assert mismatches == [], mismatches[:3]


def test_a_skipped_recognizer_finds_nothing(detector: PIIDetector) -> None:
    """The pattern check that skips a recognizer is exact: where it says no, the recognizer's own
    analysis finds nothing either (checked per recognizer, before deduplication hides a slip)."""
    skipped = 0
    for text in WINDOWS:
        norm = normalize(text).text
        for step in detector._pattern_steps:
            if step.may_match is not None and not step.may_match(norm):
                skipped += 1
                assert step.recognizer.analyze(norm, detector._pattern_entity_types, None) == [], (
                    step.recognizer.name,
                    text,
                )
    assert skipped > len(WINDOWS)


@pytest.mark.parametrize(
    ("with_context", "without_context"),
    [
        ("phone 415-555-0199 today", "see 415-555-0199 today"),
        ("my ssn is 219 09 9999", "my code is 219 09 9999"),
        ("Login from ip 10.1.2.3", "Login from 10.1.2.3"),
    ],
)
def test_context_words_still_raise_scores(
    detector: PIIDetector, with_context: str, without_context: str
) -> None:
    assert _mismatches(detector, [with_context, without_context]) == []
    [boosted] = detector.detect_patterns_only(with_context)
    [plain] = detector.detect_patterns_only(without_context)
    assert boosted.entity_type == plain.entity_type and boosted.score > plain.score


_PIECES = [
    " ",
    "  ",
    "-",
    ".",
    ":",
    "::",
    "/",
    "(",
    ")",
    "+",
    "@",
    "\u200b",
    "\uff0e",
    "，",
    "\n",
    "0",
    "1",
    "7",
    "415",
    "555",
    "0199",
    "2024",
    "12",
    "１３８",
    "1234 5678",
    "13812345678",
    "11010519491231002X",
    "6222021234567890123",
    "4111111111111111",
    "219-09-9999",
    "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00",
    "E12345678",
    "MRN-1234567",
    "10.1.2.3",
    "fe80::1",
    "::ffff:10.0.0.1",
    "1975-03-04",
    "03/04/1975",
    "1980年5月6日",
    "john.doe",
    "example.com",
    "Call",
    "phone",
    "tel",
    "card",
    "IBAN",
    "bank",
    "SSN",
    "ip",
    "email",
    "born",
    "DOB",
    "record",
    "手机",
    "身份证",
    "护照",
    "卡号",
    "出生",
    "病历",
    "北京市朝阳区建国路88号",
    "ΣΑΣ",
    # Digits newer than Python's Unicode tables: Presidio's ``regex`` patterns match them, ``re`` does not.
    "E\U00011f51\U00011f52\U00011f53\U00011f54\U00011f55\U00011f56\U00011f57",
    "4" + "\U00011f55" * 15,
    "the",
    "x",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=14))
def test_any_mix_of_identifier_pieces_gives_identical_findings(
    detector: PIIDetector, pieces: list[str]
) -> None:
    assert _mismatches(detector, ["".join(pieces)]) == []


def test_recognizer_failure_is_detection_unavailable_without_text(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "call 415-555-0199 or mail lena@example.org"
    phone = next(s.recognizer for s in detector._pattern_steps if s.recognizer.name == "FastPhoneRecognizer")

    def leaky(text: str, *args: object, **kwargs: object) -> list[object]:
        raise ValueError(f"could not parse {text}")

    monkeypatch.setattr(phone, "analyze", leaky)
    with pytest.raises(DetectionUnavailable) as info:
        detector.detect_patterns_only(text)
    assert "415" not in str(info.value) and "lena" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_context_step_failure_is_detection_unavailable_without_text(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "email lena@example.org"

    def leaky(text: str) -> object:
        raise RuntimeError(f"tokenizer choked on {text}")

    monkeypatch.setattr(detector._booster, "_make_doc", leaky)
    with pytest.raises(DetectionUnavailable) as info:
        detector.detect_patterns_only(text)
    assert "lena" not in str(info.value)


_VALUES = [
    "415-555-0199",
    "(212) 736-5000",
    "+44 20 7946 0958",
    "219-09-9999",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "10.1.2.3",
    "lena@example.org",
    "11010519491231002X",
    "13812345678",
    "E12345678",
    "MRN-1234567",
    "1975-03-04",
]
_FILLERS = ["the", "of", "and", "a", "is", "be", "-", ",", ".", ":", "(", ")", "'s", "re:", "n't", "x", "Dr."]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_texts_with_context_words_give_identical_findings(
    detector: PIIDetector, data: st.DataObject
) -> None:
    """The context step (PatternContextBooster) against Presidio's enhancer: context words of every
    pattern recognizer, before, after and glued to values, among stop words and punctuation."""
    context_words = sorted({word for step in detector._pattern_steps for word in step.context})
    word = st.sampled_from(context_words).map(
        lambda w: w.upper() if len(w) % 3 == 0 else w.title() if len(w) % 3 == 1 else w
    )
    piece = st.one_of(word, st.sampled_from(_VALUES), st.sampled_from(_FILLERS))
    pieces = data.draw(st.lists(piece, min_size=1, max_size=12))
    glue = data.draw(
        st.lists(
            st.sampled_from([" ", "  ", "", ": ", "\n", "#"]), min_size=len(pieces), max_size=len(pieces)
        )
    )
    text = "".join(p + g for p, g in zip(pieces, glue, strict=True))
    assert _mismatches(detector, [text]) == []


def _covered(findings: list[object]) -> set[int]:
    return {i for f in findings for i in range(f.start, f.end)}  # type: ignore[attr-defined]


def test_the_output_filter_s_detector_covers_what_the_pattern_path_covers(detector: PIIDetector) -> None:
    """``detect_identifiers`` reads context words only below the floor: scores may differ, the
    characters redacted may not."""
    texts = [sample.text for sample in CORPUS] + WINDOWS
    differ = [
        text
        for text in texts
        if _covered(detector.detect_identifiers(text)) != _covered(detector.detect_patterns_only(text))
    ]
    assert differ == [], differ[:3]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_texts_with_context_words_are_covered_alike(
    detector: PIIDetector, data: st.DataObject
) -> None:
    context_words = sorted({word for step in detector._pattern_steps for word in step.context})
    piece = st.one_of(st.sampled_from(context_words), st.sampled_from(_VALUES), st.sampled_from(_FILLERS))
    text = " ".join(data.draw(st.lists(piece, min_size=1, max_size=12)))
    assert _covered(detector.detect_identifiers(text)) == _covered(detector.detect_patterns_only(text))


def test_the_output_filter_does_not_parse_a_number_a_phone_word_already_covers(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libphonenumber's parse is the costliest step of a stream chunk: ``detect_identifiers`` runs
    it last and skips numbers other recognizers already redact; the request side still parses."""
    parsed: list[str] = []
    original = _RememberingMatcher._parse_and_verify

    def counting(self: _RememberingMatcher, candidate: str, offset: int) -> object:
        parsed.append(candidate)
        return original(self, candidate, offset)

    monkeypatch.setattr(_RememberingMatcher, "_parse_and_verify", counting)
    covered = "please call 212 736 5000 today"
    assert _covered(detector.detect_identifiers(covered)) == set(range(12, 24))
    assert parsed == []
    assert _covered(detector.detect_patterns_only(covered)) == set(range(12, 24))
    assert parsed  # the plain path parses it
    parsed.clear()
    bare = "it is 212 736 5000 today"  # no phone word: only libphonenumber vouches for it
    assert _covered(detector.detect_identifiers(bare)) == set(range(6, 18))
    assert parsed
