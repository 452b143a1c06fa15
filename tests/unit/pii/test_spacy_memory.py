"""spaCy keeps no request text: its string store stays bounded and a value leaves it again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import PIIDetector
from policies.pii.names_lexicons import Classifier, shipped_lexicons
from policies.pii.spacy_memory import VocabularyZone
from tests.pii_corpus import generate


def _prompt(n: int) -> str:
    return (
        f"Hi, I am Xavrel Quintobe{n}, phone 415-555-{n % 10_000:04d}, mail "
        f"xq.{n}@wards{n}.example. Please summarise my refill request {n} for the clinic."
    )


def test_the_string_store_stays_bounded_and_forgets_values(pii_policy: object) -> None:
    detector = PIIDetector(pii_policy, cache_key=b"k" * 32, cache_entries=0)  # type: ignore[arg-type]
    strings = detector._engine.nlp["en"].vocab.strings  # type: ignore[index]
    zone = detector._zone
    for n in range(50):  # warm: whatever start-up adds for good is added by now
        detector.detect(_prompt(n))
        detector.detect_patterns_only(_prompt(n))
    baseline = len(strings) - zone.transient_strings
    for n in range(1_000, 1_900):
        detector.detect(_prompt(n))
        detector.detect_patterns_only(_prompt(n))
    assert zone.renewals >= 2
    assert zone.transient_strings < 2_000 + 200  # RENEW_AT plus one detection's worth
    assert len(strings) - zone.transient_strings <= baseline + 50
    # A value seen before the last renewal is gone from spaCy's tables.
    assert "xq.1000@wards1000.example" not in strings
    assert "Quintobe1000" not in strings


_PIECE_TEXTS = [sample.text for sample in generate(300, seed=5)]
_SPECIALS = ["e.g.", "a.m.", "p.m.", "Dr.", "Mr.", "U.S.", ":)", "'s", "n't", "Jan.", "vs.", "etc."]


@pytest.mark.parametrize("text", _PIECE_TEXTS[:300:7])
def test_piecewise_tokens_equal_spacys_on_the_corpus(detector: PIIDetector, text: str) -> None:
    assert detector._booster.tokens(text) == _spacy_tokens(detector, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_SPECIALS),
            st.text("aZ1.-@'():/ \t\n\u00a0\u3000張", max_size=6),
            st.sampled_from(["the", "Please", "clinic.", "phone:", "(555)", "x@y.org", " ", "  ", "\n\n"]),
        ),
        max_size=14,
    )
)
def test_piecewise_tokens_equal_spacys_on_random_text(detector: PIIDetector, parts: list[str]) -> None:
    text = "".join(parts)
    first = detector._booster.tokens(text)
    whole = _spacy_tokens(detector, text)
    if first != whole:
        # spaCy's special cases are matched over the whole Doc, across spaces: in "1:) )" the
        # emoticon ":))" matches ": ) )" and keeps ":)" from being one token. Only punctuation is
        # split differently then; every word and number is the same token at the same place.
        assert _words(first) == _words(whole)
    assert detector._booster.tokens(text) == first  # and again, from the remembered pieces


def _words(tokens: tuple[list[str], list[int], list[int]]) -> list[tuple[str, int, int]]:
    return [t for t in zip(*tokens, strict=True) if any(char.isalnum() for char in t[0])]


def _spacy_tokens(detector: PIIDetector, text: str) -> tuple[list[str], list[int], list[int]]:
    nlp = detector._engine.nlp["en"]  # type: ignore[index]
    with detector._zone.entered():
        doc = nlp.make_doc(text)
        return [t.lower_ for t in doc], [t.idx for t in doc], [len(t) for t in doc]


def test_only_plain_pieces_are_remembered(detector: PIIDetector) -> None:
    booster = detector._booster
    booster.tokens("Please call Quintobe at 415-555-0100 or q.x@corp.example, thanks.")
    remembered = set(booster._pieces)
    assert {"Please", "call", "at", "or"} <= remembered
    assert not remembered & {"Quintobe", "415-555-0100", "q.x@corp.example,"}
    detector.detect_patterns_only("Please call Quintobe at 415-555-0100 or q.x@corp.example, thanks.")
    lemmas = set(booster._keyword_parts)
    assert {"call", "please"} <= lemmas
    assert not lemmas & {"quintobe", "415-555-0100", "q.x@corp.example"}


class _FakeStrings:
    def __init__(self) -> None:
        self.items: list[str] = ["permanent"]
        self.transient_from: int | None = None

    def __len__(self) -> int:
        return len(self.items)


class _FakeNlp:
    """What VocabularyZone uses of a spaCy pipeline: ``vocab.strings`` and ``memory_zone()``."""

    def __init__(self) -> None:
        self.vocab = type("Vocab", (), {})()
        self.vocab.strings = _FakeStrings()
        self.zones_closed = 0

    @contextmanager
    def memory_zone(self) -> Iterator[None]:
        start = len(self.vocab.strings.items)
        yield
        del self.vocab.strings.items[start:]
        self.zones_closed += 1


def test_the_zone_is_renewed_only_when_no_detection_is_inside() -> None:
    nlp = _FakeNlp()
    zone = VocabularyZone(nlp, renew_at=3, wait_at=100)
    entered = threading.Event()
    leave = threading.Event()

    def long_detection() -> None:
        with zone.entered():
            nlp.vocab.strings.items.extend(["a", "b"])
            entered.set()
            leave.wait(5)

    worker = threading.Thread(target=long_detection)
    worker.start()
    assert entered.wait(5)
    with zone.entered():
        nlp.vocab.strings.items.extend(["c", "d"])
    assert nlp.zones_closed == 0  # the other detection is still inside: nothing freed under it
    leave.set()
    worker.join(5)
    assert nlp.zones_closed == 1 and zone.transient_strings == 0
    assert nlp.vocab.strings.items == ["permanent"]


def test_past_the_hard_limit_new_detections_wait_for_the_renewal() -> None:
    nlp = _FakeNlp()
    zone = VocabularyZone(nlp, renew_at=3, wait_at=4)
    inside = threading.Event()
    leave = threading.Event()
    order: list[str] = []

    def filling_detection() -> None:
        with zone.entered():
            nlp.vocab.strings.items.extend("abcde")
            inside.set()
            leave.wait(5)
            order.append("first left")

    def later_detection() -> None:
        with zone.entered():
            order.append("second inside")
            assert zone.transient_strings == 0

    first = threading.Thread(target=filling_detection)
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=later_detection)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting: the zone is over its limit and another detection is inside
    leave.set()
    first.join(5)
    second.join(5)
    assert order == ["first left", "second inside"]
    # A detection inside another on the same thread never waits for itself.
    with zone.entered():
        nlp.vocab.strings.items.extend("abcdef")
        with zone.entered():
            pass
    assert zone.transient_strings == 0


def test_the_name_rules_remember_common_words_only() -> None:
    classifier = Classifier(shipped_lexicons())
    for word in ["the", "Please", "will", "Gonzalez", "Maria", "Quintobe", "M4ria", "5550100"]:
        classifier.classify(word)
    assert set(classifier._cache) == {"the", "Please", "will"}
