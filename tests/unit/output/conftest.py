"""Fixtures for the output filter tests: the shipped policy, a small regex PII detector, a chunk runner."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from policies.bundle import DEFAULT_POLICY_DIR, read_document
from policies.output.config import CompiledRules, OutputPolicy, compile_rules_for_role, parse_output_policy
from policies.output.stream_filter import StreamFilter


@dataclass(frozen=True)
class FakeSpan:
    entity_type: str
    start: int
    end: int


_PII_PATTERNS = (
    ("EMAIL_ADDRESS", re.compile(r"[A-Za-z0-9._%+-]{1,32}@[A-Za-z0-9-]{1,20}(?:\.[A-Za-z0-9-]{1,20}){1,3}")),
    ("CREDIT_CARD", re.compile(r"(?<!\d)(?:\d[ -]?){15}\d(?!\d)")),
    ("PHONE_NUMBER", re.compile(r"(?<![\w+])(?:\+?\d{1,3}[ -]?)?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{4}(?!\d)")),
)
#: Longest value the test detector can find (an e-mail of 32 + 1 + 20 + 3 * 21 characters).
TEST_MAX_ENTITY_LEN = 116


def regex_detector(text: str) -> Sequence[FakeSpan]:
    """Phone, e-mail and card-like values, like the structured recognizers of the input step."""
    spans: list[FakeSpan] = []
    taken: list[tuple[int, int]] = []
    for entity_type, pattern in _PII_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append(m.span())
            spans.append(FakeSpan(entity_type, m.start(), m.end()))
    return spans


@pytest.fixture(scope="session")
def output_policy() -> OutputPolicy:
    doc, _ = read_document(DEFAULT_POLICY_DIR / "output.yaml")
    return parse_output_policy(doc, "output.yaml")


@pytest.fixture(scope="session")
def analyst_rules(output_policy: OutputPolicy) -> CompiledRules:
    return compile_rules_for_role(output_policy, ["analyst"])


def run_chunks(filt: StreamFilter, chunks: Sequence[str], channel: str = "content") -> str:
    """Feed every chunk, then finish; return all released text."""
    out = [filt.feed(channel, chunk).text for chunk in chunks]
    out.append(filt.finish(channel).text)
    return "".join(out)


@pytest.fixture
def run() -> Callable[..., str]:
    return run_chunks


def split_at(text: str, cuts: Sequence[int]) -> list[str]:
    """``text`` cut at the given positions (sorted, deduplicated, clamped)."""
    points = sorted({min(max(c, 0), len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points) if b > a]
