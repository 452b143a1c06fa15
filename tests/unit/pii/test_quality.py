"""Recall / precision floors and survival of clinical facts on the labelled corpus."""

from __future__ import annotations

import pytest

from policies.pii.analyzer import PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.redact_body import redact_chat_body
from tests.pii_corpus import STRUCTURED_TYPES, Sample, generate, score

SAMPLES = generate(360, seed=7)


@pytest.fixture(scope="module")
def corpus_scores(detector: PIIDetector) -> dict[str, object]:
    findings = detector.detect_many([s.text for s in SAMPLES])
    return score(SAMPLES, findings)  # type: ignore[arg-type]


@pytest.mark.parametrize("entity_type", STRUCTURED_TYPES)
def test_structured_identifiers_recall_at_least_99_percent(corpus_scores, entity_type) -> None:
    entry = corpus_scores[entity_type]
    assert entry.labelled >= 20
    assert entry.recall >= 0.99, (entity_type, entry)
    assert entry.precision >= 0.95, (entity_type, entry)


def test_person_names_recall_at_least_90_percent(corpus_scores) -> None:
    entry = corpus_scores["PERSON"]
    assert entry.recall >= 0.90 and entry.precision >= 0.90, entry


@pytest.mark.parametrize("entity_type", ["CN_PASSPORT", "DATE_TIME", "LOCATION", "MEDICAL_RECORD_NUMBER"])
def test_other_entity_types_recall_floor(corpus_scores, entity_type) -> None:
    entry = corpus_scores[entity_type]
    assert entry.recall >= 0.95 and entry.precision >= 0.95, (entity_type, entry)


def test_clinical_and_banking_facts_survive_redaction_exactly(
    detector: PIIDetector, pii_policy: PIIPolicy
) -> None:
    body = {"messages": [{"role": "user", "content": s.text} for s in SAMPLES]}
    out, _, _ = redact_chat_body(body, detector, pii_policy.profile("clinical"))
    for sample, message in zip(SAMPLES, out["messages"], strict=True):
        for fact in sample.keep:
            assert fact in message["content"], fact


def test_no_labelled_value_survives_redaction(detector: PIIDetector, pii_policy: PIIPolicy) -> None:
    subset: list[Sample] = SAMPLES[:120]
    body = {"messages": [{"role": "user", "content": s.text} for s in subset]}
    out, _, _ = redact_chat_body(body, detector, pii_policy.profile("default"))
    leaked = [
        (span.entity_type, sample.kind)
        for sample, message in zip(subset, out["messages"], strict=True)
        for span in sample.spans
        if sample.text[span.start : span.end] in message["content"]
    ]
    assert len(leaked) <= 2, leaked


@pytest.mark.parametrize(
    "text",
    [
        "Metformin 500 mg twice daily, HbA1c 7.2%, seen on 2024-03-05.",
        "血压 130/85 mmHg，空腹血糖 6.1 mmol/L，复诊日期 2024年5月6日。",
        "Lisinopril 10 mg daily; eGFR 85 mL/min; BP 130/85 mmHg; LDL 3.1 mmol/L.",
        "余额 8,562.30 元，利率 3.45%，transfer of 3,000 EUR.",
    ],
)
def test_text_without_personal_data_has_no_findings(detector: PIIDetector, text: str) -> None:
    assert [f for f in detector.detect(text) if f.score >= 0.5] == []
