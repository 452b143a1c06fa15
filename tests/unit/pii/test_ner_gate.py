"""The NER gate: spaCy runs only where its entities could change what is redacted."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.config import PIIPolicy
from policies.pii.names_tokens import SCORE_STRONG
from tests.pii_corpus import generate

PROMPT = (
    "Patient John Smith, DOB 03/04/1975, seen today for diabetes follow-up. HbA1c 7.2%, on Metformin "
    "500 mg twice daily. Phone 212-555-0101, email j.smith@example.com. Please draft a short summary letter."
)


@pytest.fixture(scope="module")
def detector(pii_policy: PIIPolicy) -> PIIDetector:
    """Without a cache: every call detects."""
    return PIIDetector(pii_policy, cache_key=b"ner-gate-test-key", cache_entries=0)


@pytest.fixture
def ner_calls(detector: PIIDetector, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts detection hands to spaCy's NER from now on."""
    calls: list[str] = []
    process_batch = detector._engine.process_batch

    def counting(texts: list[str], language: str, batch_size: int = 1) -> Iterator[object]:
        calls.extend(texts)
        return process_batch(texts, language, batch_size=batch_size)

    monkeypatch.setattr(detector._engine, "process_batch", counting)
    return calls


def _covered(text: str, findings: list[Finding], min_score: float = 0.5) -> set[int]:
    return {i for f in findings if f.score >= min_score for i in range(f.start, f.end) if text[i].isalnum()}


def test_a_prompt_whose_capitalized_words_are_all_explained_skips_the_model(
    detector: PIIDetector, ner_calls: list[str]
) -> None:
    findings = detector.detect(PROMPT)
    assert ner_calls == []
    found = {(f.entity_type, PROMPT[f.start : f.end]) for f in findings if f.score >= 0.5}
    assert {
        ("PERSON", "John Smith"),
        ("PHONE_NUMBER", "212-555-0101"),
        ("EMAIL_ADDRESS", "j.smith@example.com"),
    } <= found


def test_the_skipped_model_would_not_have_changed_the_redaction(detector: PIIDetector) -> None:
    assert _covered(PROMPT, detector.detect(PROMPT)) == _covered(PROMPT, detector._detect_reference(PROMPT))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please forward the results to Xiulan Okonkwo-Reyes tomorrow.", "Xiulan Okonkwo-Reyes"),
        ("My name appears wrongly, please correct it to Dr. Justin Beet?", "Justin Beet"),
        ("Is there a better pop song on this list? Dale and White were precision engineers.", "Dale"),
    ],
)
def test_a_word_the_rules_do_not_explain_runs_the_model(
    detector: PIIDetector, ner_calls: list[str], text: str, name: str
) -> None:
    findings = detector.detect(text)
    assert ner_calls == [text]
    start = text.index(name)
    assert set(range(start, start + len(name))) - {
        i for i, ch in enumerate(text) if not ch.isalnum()
    } <= _covered(text, findings)


def test_text_without_a_capitalized_word_never_runs_the_model(
    detector: PIIDetector, ner_calls: list[str]
) -> None:
    detector.detect("call me at 212-555-0101 or write to maria.gonzalez@example.org")
    detector.detect("患者张伟，电话13800138000。")
    assert ner_calls == []


def test_a_profile_redacting_only_above_the_rules_score_keeps_the_model(pii_policy: PIIPolicy) -> None:
    strict = {name: dataclasses.replace(p, min_score=SCORE_STRONG) for name, p in pii_policy.profiles.items()}
    detector = PIIDetector(dataclasses.replace(pii_policy, profiles=strict), cache_key=b"k" * 16)
    # "Patient John Smith" scores 0.8 by the rules and 0.85 by the model: here the model decides.
    assert detector._rule_names(PROMPT).needs_model


def test_the_gate_loses_no_labelled_value_on_the_project_corpus(detector: PIIDetector) -> None:
    for sample in generate(300, seed=4242):
        gated = _covered(sample.text, detector.detect(sample.text), 0.3)
        plain = _covered(sample.text, detector._detect_reference(sample.text), 0.3)
        for span in sample.spans:
            letters = {i for i in range(span.start, span.end) if sample.text[i].isalnum()}
            if letters <= plain:
                assert letters <= gated, (span.entity_type, sample.kind)
