"""Long texts are detected window by window; a step nobody waits for stops at its next window.

Windows are what bounds spaCy's memory and the time a given-up step keeps its thread; they must
not cost recall: a value cut by a window edge is found whole, once, at its offsets in the text.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.errors import DetectionUnavailable
from policies.pii import analyzer
from policies.pii.analyzer import WINDOW_CHARS, WINDOW_OVERLAP, Finding, PIIDetector, _windows
from policies.pii.cache import FindingCache
from policies.pii.config import load_default_pii_policy
from policies.pii.offload import CancelToken, DetectionCancelled, DetectionPool
from policies.pii.redact_body import aredact_chat_body
from tests.pii_corpus import generate

FILLER = "the follow-up visit went well and the plan is unchanged for now. "
# (text before, the value, text after): each value is found in a short text on its own.
VALUES = {
    "PERSON": ("Patient ", "John Smith", " was seen. "),
    "CREDIT_CARD": ("card ", "4111 1111 1111 1111", " on file. "),
    "EMAIL_ADDRESS": ("mail ", "jane.roe@example.org", " today. "),
}


def _filler(length: int) -> str:
    """Neutral lower-case text of exactly ``length`` characters, ending a sentence."""
    return (FILLER * (length // len(FILLER) + 1))[: length - 2] + ". "


def _cuts(length: int) -> list[int]:
    """Every offset where a window or a window's core begins or ends, inside the text."""
    edges = {edge for w in _windows(0, length) for edge in (w.start, w.end, w.core_start, w.core_end)}
    return sorted(edges - {0, length})


def _uncached(detector: PIIDetector) -> PIIDetector:
    """The session detector's models and recognizers, with a cache that keeps nothing."""
    copy = PIIDetector.__new__(PIIDetector)
    copy.__dict__.update(detector.__dict__)
    copy._cache = FindingCache(b"u" * 32, 0)
    return copy


class _Counter:
    """Wraps ``PIIDetector._analyze``: counts the windows of long texts analyzed, and runs ``then``
    after the first one."""

    def __init__(self, detector: PIIDetector, then: Callable[[], object] = lambda: None) -> None:
        self._analyze = detector._analyze
        self._then = then
        self.windows = 0

    def __call__(self, norm: Any, artifacts: Any, entities: list[str]) -> list[Finding]:
        findings = self._analyze(norm, artifacts, entities)
        if len(norm.text) > WINDOW_CHARS // 2:
            self.windows += 1
            if self.windows == 1:
                self._then()
        return findings


def _long_text(windows: int, tag: str) -> str:
    ending = f"{tag}: card 4111 1111 1111 1111."
    text = _filler((WINDOW_CHARS - WINDOW_OVERLAP) * windows + WINDOW_OVERLAP) + ending
    assert len(_windows(0, len(text))) >= windows
    return text


# ----------------------------------------------------------------------------- windows


def test_a_text_up_to_the_window_size_is_one_window() -> None:
    assert [(w.start, w.end) for w in _windows(0, WINDOW_CHARS)] == [(0, WINDOW_CHARS)]
    assert len(_windows(0, WINDOW_CHARS + 1)) == 2


@given(st.integers(min_value=1, max_value=12 * WINDOW_CHARS))
def test_windows_overlap_and_their_cores_partition_the_text(length: int) -> None:
    windows = _windows(0, length)
    assert windows[0].start == 0 and windows[-1].end == length
    assert [w.core_start for w in windows[1:]] == [w.core_end for w in windows[:-1]]
    assert windows[0].core_start == 0 and windows[-1].core_end == length
    for before, after in itertools.pairwise(windows):
        assert before.end - after.start == WINDOW_OVERLAP
    for w in windows:
        assert w.end - w.start <= WINDOW_CHARS
        # Whatever reaches into a core, with half the overlap on each side, lies in its window.
        reach = WINDOW_OVERLAP // 2
        assert w.start == 0 or w.core_start - w.start >= reach
        assert w.end == length or w.end - w.core_end >= reach


@pytest.mark.parametrize("entity_type", sorted(VALUES))
def test_a_value_straddling_every_window_cut_is_found_whole_and_once(
    detector: PIIDetector, entity_type: str
) -> None:
    before, value, after = VALUES[entity_type]
    length = 4 * WINDOW_CHARS
    parts: list[str] = []
    planted: list[tuple[int, int]] = []
    position = 0
    for cut in _cuts(length):
        start = cut - len(value) // 2  # the cut falls in the middle of the value
        parts.append(_filler(start - len(before) - position) + before + value + after)
        planted.append((start, start + len(value)))
        position = start + len(value) + len(after)
    parts.append(_filler(length - position))
    text = "".join(parts)
    assert len(text) == length and all(text[s:e] == value for s, e in planted)

    found = _uncached(detector).detect(text)
    spans = [(f.start, f.end) for f in found if f.entity_type == entity_type]
    assert spans == planted  # each whole, once, at its offsets; no fragment at any cut


def test_windowed_detection_finds_what_detection_of_the_whole_text_finds(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "\n".join(sample.text for sample in generate(200))[: 2 * WINDOW_CHARS]
    fresh = _uncached(detector)
    windowed = fresh.detect(text)
    monkeypatch.setattr(analyzer, "WINDOW_CHARS", len(text))
    whole = fresh.detect(text)
    assert len(whole) > 100
    assert windowed == whole


# ----------------------------------------------------------------------------- cancellation


def test_a_cancelled_detection_stops_after_the_window_it_is_in(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = CancelToken()
    counter = _Counter(detector, then=token.cancel)
    monkeypatch.setattr(detector, "_analyze", counter)
    with pytest.raises(DetectionCancelled):
        detector.detect(_long_text(6, "cancelled"), token)
    assert counter.windows == 1


def test_cancellation_is_checked_between_texts(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = CancelToken()
    analyzed: list[str] = []
    original = detector._analyze

    def analyze(norm: Any, artifacts: Any, entities: list[str]) -> list[Finding]:
        analyzed.append(norm.text)
        token.cancel()
        return original(norm, artifacts, entities)

    monkeypatch.setattr(detector, "_analyze", analyze)
    texts = [f"between texts {i}: Mary Jones" for i in range(5)]  # one spaCy batch
    with pytest.raises(DetectionCancelled):
        detector.detect_many(texts, token)
    assert len(analyzed) == 1


def test_a_cancelled_text_leaves_nothing_partial_in_the_cache(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _long_text(3, "partial")
    token = CancelToken()
    with monkeypatch.context() as patch:
        patch.setattr(detector, "_analyze", _Counter(detector, then=token.cancel))
        with pytest.raises(DetectionCancelled):
            detector.detect(text, token)
    found = detector.detect(text)
    assert [text[f.start : f.end] for f in found] == ["4111 1111 1111 1111"]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a pool thread waiting


async def _until_idle(pool: DetectionPool) -> None:
    with anyio.fail_after(60):  # a bound for a failing test only
        while pool.running:
            await anyio.sleep(0.01)


async def test_a_caller_that_goes_away_stops_its_detection_within_one_window(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    entered = threading.Event()

    def hold() -> None:
        entered.set()
        gate.wait(60)

    counter = _Counter(detector, then=hold)
    monkeypatch.setattr(detector, "_analyze", counter)
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    body = {"messages": [{"role": "user", "content": _long_text(6, "abandoned")}]}
    profile = load_default_pii_policy().profile("clinical")
    async with anyio.create_task_group() as group:
        group.start_soon(partial(aredact_chat_body, body, detector, profile, pool, owner="a"))
        await anyio.to_thread.run_sync(partial(entered.wait, 60))
        group.cancel_scope.cancel()  # the client went away mid-detection
    gate.set()
    await _until_idle(pool)
    assert counter.windows == 1
    assert await pool.run(lambda: "free") == "free"
    pool.close()


async def test_a_timed_out_step_is_refused_and_stops_within_one_window(
    detector: PIIDetector, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    counter = _Counter(detector, then=partial(gate.wait, 60))
    monkeypatch.setattr(detector, "_analyze", counter)
    pool = DetectionPool(1, timeout_s=0.5, queue_timeout_s=60.0)
    text = _long_text(6, "overrun")
    with pytest.raises(DetectionUnavailable, match="timed out"):
        await pool.run(partial(detector.detect, text))  # the step's token is found by detect
    gate.set()
    await _until_idle(pool)
    # The step was held in its first window until the refusal; it stopped at the next check.
    assert counter.windows <= 1
    pool.close()
