"""Names from Faker's Latin-script locales, which nobody here chose, are removed (seed 3)."""

from __future__ import annotations

from policies.pii.analyzer import PIIDetector
from tests.unit.pii.heldout_faker_names import generate, recall


def test_recall_of_faker_names_in_clinical_and_banking_sentences(detector: PIIDetector) -> None:
    cases = generate(seed=3, per_locale=10)
    hits, total = recall(cases, [detector.detect(case.text) for case in cases])
    # 388 / 390 when written (2026-12-07); 387 / 390 before the dictionary's proper nouns counted
    # as names that are also words.
    assert hits / total >= 0.98, f"{hits}/{total}"
