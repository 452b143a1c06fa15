"""What the detector found, as the tests read it."""

from __future__ import annotations

from policies.pii.analyzer import PIIDetector


def people(detector: PIIDetector, text: str, min_score: float = 0.5) -> list[str]:
    """The text of each PERSON finding in ``text`` at ``min_score`` or more (the request side: 0.5)."""
    found = detector.detect(text)
    return [text[f.start : f.end] for f in found if f.entity_type == "PERSON" and f.score >= min_score]
