"""Recall per class on generated held-out text (tests/unit/pii/heldout.py): sentences and values
written independently of the recognizers, for each class of value that once reached the engine."""

from __future__ import annotations

import random

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.unit.pii.heldout import Case, clinical_kept, clinical_negatives, generate, is_found, recall_table

# Another seed than the one docs/benchmarks.md reports.
CASES = generate(per_class=60, seed=1818)
FLOORS = {
    "email_intranet": 0.98,
    "phone": 0.97,
    "ssn_bare": 0.98,
    "cn_id_bad_check": 0.98,
    "plate_us": 0.97,
    "plate_cn": 0.97,
    "obfuscated": 0.95,
}


@pytest.fixture(scope="module")
def findings(detector: PIIDetector) -> list[list[object]]:
    return detector.detect_many([case.text for case in CASES])  # type: ignore[return-value]


@pytest.mark.parametrize("cls", sorted(FLOORS))
def test_recall_per_class_on_the_request_side(findings, pii_policy: PIIPolicy, cls: str) -> None:
    threshold = pii_policy.profile("default").min_score
    table = recall_table(CASES, findings, threshold)
    for (name, lang), (hit, total) in table.items():
        if name == cls:
            assert total >= 5 and hit / total >= FLOORS[cls], (cls, lang, hit, total, _misses(findings, cls))


def test_what_the_answer_side_catches_the_request_side_catches_too(findings, pii_policy: PIIPolicy) -> None:
    # The output filter redacts every finding (from the detector's floor, 0.3); a request is
    # redacted from its profile's min_score. A value must not pass one side and not the other.
    for profile in pii_policy.profiles.values():
        missed = [
            case.text
            for case, found in zip(CASES, findings, strict=True)
            if is_found(case, found, 0.3) and not is_found(case, found, profile.min_score)  # type: ignore[arg-type]
        ]
        assert missed == [], (profile.name, missed[:5])


def test_clinical_facts_next_to_phone_and_plate_words_survive(
    detector: PIIDetector, pii_policy: PIIPolicy
) -> None:
    negatives = clinical_negatives(random.Random(1819), 150)
    body = {"messages": [{"role": "user", "content": n.text} for n in negatives]}
    out, _, _ = redact_chat_body(body, detector, pii_policy.profile("clinical"))
    redacted = [m["content"] for m in out["messages"]]
    assert clinical_kept(negatives, redacted) == len(negatives), [
        (n.text, r) for n, r in zip(negatives, redacted, strict=True) if n.text != r
    ][:5]


def _misses(findings, cls: str) -> list[str]:
    return [
        c.value for c, f in zip(CASES, findings, strict=True) if c.cls == cls and not is_found(c, f, 0.5)
    ][:5]


def test_generator_covers_every_class_and_language() -> None:
    keys = {(case.cls, case.lang) for case in CASES}
    assert {cls for cls, _ in keys} == set(FLOORS)
    assert {lang for _, lang in keys} == {"en", "zh"}
    assert all(isinstance(case, Case) and case.value for case in CASES)
