"""What the detector found, as the tests read it."""

from __future__ import annotations

from typing import Protocol

from policies.pii.analyzer import PIIDetector


class FindingLike(Protocol):
    """What the held-out checks read of a finding."""

    @property
    def entity_type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...


class CaseLike(Protocol):
    """A generated case: a text and where its value stands in it."""

    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


def found_as(detector: PIIDetector, text: str, entity_type: str, min_score: float = 0.5) -> list[str]:
    """The text of each ``entity_type`` finding in ``text`` at ``min_score`` or more (the request
    side: 0.5)."""
    found = detector.detect(text)
    return [text[f.start : f.end] for f in found if f.entity_type == entity_type and f.score >= min_score]


def people(detector: PIIDetector, text: str, min_score: float = 0.5) -> list[str]:
    """The text of each PERSON finding in ``text`` at ``min_score`` or more (the request side: 0.5)."""
    return found_as(detector, text, "PERSON", min_score)
