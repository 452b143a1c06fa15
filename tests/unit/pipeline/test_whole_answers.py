"""Whole (non-streaming) answers get the full detector, NER included, over all their text when
``pii.answer_ner`` is on: a bare name is redacted whether or not the answer also holds a number.
Built the way the pipeline builds the filter (``gateway.pipeline.make_filter``), without a server.
(Port of ``tests/unit/output/test_whole_answers.py`` to the pipeline's request context.)"""

from __future__ import annotations

import pytest

from gateway.pipeline import CHAT, Exchange, FilterSettings, RequestContext, authorize_request, make_filter
from policies.bundle import DEFAULT_POLICY_DIR, PolicyBundle, load_policy_bundle
from policies.output.stream_filter import StreamFilter
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from policies.pii.redact_body import PseudonymMap

from .conftest import MODEL, principal

OWN = {"[PERSON_1]": "Maria Gonzalez"}  # the clinician's own pseudonym, from this request


@pytest.fixture(scope="module")
def policy() -> PolicyBundle:
    return load_policy_bundle(DEFAULT_POLICY_DIR)


@pytest.fixture(scope="module")
def detector() -> PIIDetector:
    return PIIDetector(load_default_pii_policy(), cache_key=b"w" * 32, cache_entries=100)


def _filter(
    policy: PolicyBundle, detector: PIIDetector, role: str, *, answer_ner: bool = True
) -> StreamFilter:
    caller = principal(role)
    authz = authorize_request(policy, caller, CHAT, MODEL, MODEL)
    context = RequestContext(CHAT, caller, "req-1", policy, detector, authz, None, False)
    exchange = Exchange(context, {}, {}, PseudonymMap(dict(OWN)))
    return make_filter(exchange, FilterSettings(answer_ner=answer_ner), streaming=False)


def _answer(policy: PolicyBundle, detector: PIIDetector, role: str, text: str) -> str:
    return _filter(policy, detector, role).feed("0.content", text, last=True).text


@pytest.mark.parametrize("role", ["service", "clinician"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The patient is Maria Gonzalez.", "The patient is [REDACTED_PERSON]."),
        ("患者张伟今天来复诊。", "患者[REDACTED_PERSON]今天来复诊。"),
    ],
)
def test_a_bare_name_in_a_whole_answer_is_redacted(
    policy: PolicyBundle, detector: PIIDetector, role: str, text: str, expected: str
) -> None:
    assert _answer(policy, detector, role, text) == expected


def test_the_clinicians_own_pseudonym_is_restored_and_other_names_redacted(
    policy: PolicyBundle, detector: PIIDetector
) -> None:
    text = "[PERSON_1] is stable. 患者张伟今天来复诊。"
    rest = " is stable. 患者[REDACTED_PERSON]今天来复诊。"
    assert _answer(policy, detector, "clinician", text) == "Maria Gonzalez" + rest
    assert _answer(policy, detector, "service", text) == "[PERSON_1]" + rest


def test_a_pseudonym_this_request_did_not_issue_is_not_restored(
    policy: PolicyBundle, detector: PIIDetector
) -> None:
    out = _answer(policy, detector, "clinician", "Ask [PERSON_2] about it.")
    assert "Maria" not in out and "[PERSON_2]" in out


def test_without_answer_ner_whole_answers_look_for_identifiers_only(
    policy: PolicyBundle, detector: PIIDetector
) -> None:
    filt = _filter(policy, detector, "service", answer_ner=False)
    text = "The patient is Maria Gonzalez, call 415-555-0132."
    assert filt.feed("0.content", text, last=True).text == (
        "The patient is Maria Gonzalez, call [REDACTED_PHONE_NUMBER]."
    )
