"""With a name detector (``pii.stream_ner``), every clause that holds an upper-case letter or a Han
ideograph reaches it whole, however the answer is cut."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from policies.output.config import CompiledRules
from policies.output.stream_filter import Span, StreamFilter

from .conftest import FakeSpan, run_chunks

# Supplementary-plane ideographs (CJK Extension B and later), as in 𠮷田 or 𡈽.
_RARE_HAN = re.compile("[\U00020000-\U0003134f]+")


def _recording(pattern: re.Pattern[str], seen: list[str]) -> Callable[[str], Sequence[Span]]:
    def detect(text: str) -> Sequence[Span]:
        seen.append(text)
        return [FakeSpan("PERSON", m.start(), m.end()) for m in pattern.finditer(text)]

    return detect


def test_a_clause_with_only_rare_han_characters_reaches_the_name_detector(
    analyst_rules: CompiledRules,
) -> None:
    seen: list[str] = []
    filt = StreamFilter(analyst_rules, None, name_detector=_recording(_RARE_HAN, seen))
    out = run_chunks(filt, list("seen by \U00020bb7\U0002131d today; ok"))
    assert out == "seen by [REDACTED_PERSON] today; ok"


def test_a_clause_whose_capital_comes_late_is_seen_from_its_start(analyst_rules: CompiledRules) -> None:
    seen: list[str] = []
    filt = StreamFilter(analyst_rules, None, name_detector=_recording(re.compile(r"Gonzalez"), seen))
    chunks = ["the note says that the nurse ", "maria ", "Gonzalez", " left. Next"]
    assert run_chunks(filt, chunks) == "the note says that the nurse maria [REDACTED_PERSON] left. Next"
    # The words already released went to the detector again as the clause's context.
    assert any("the nurse maria Gonzalez left." in text for text in seen), seen
