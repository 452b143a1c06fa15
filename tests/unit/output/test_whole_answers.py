"""Whole (non-streaming) answers get the full detector, NER included, over all their text when
``pii.answer_ner`` is on: a bare name is redacted whether or not the answer also holds a number.
Built the way the gateway builds the filter (``gateway.proxy.make_filter``), without a server."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from gateway.proxy import CHAT, Exchange, make_filter
from gateway.settings import PIISettings, Settings
from policies.bundle import DEFAULT_POLICY_DIR, load_policy_bundle
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from policies.pii.redact_body import PseudonymMap
from policies.rbac import Principal

OWN = {"[PERSON_1]": "Maria Gonzalez"}  # the clinician's own pseudonym, from this request


@pytest.fixture(scope="module")
def services() -> Any:
    detector = PIIDetector(load_default_pii_policy(), cache_key=b"w" * 32, cache_entries=100)
    return SimpleNamespace(
        policy=load_policy_bundle(DEFAULT_POLICY_DIR), detector=detector, settings=Settings()
    )


def _answer(services: Any, role: str, text: str, pseudonyms: dict[str, str] | None = None) -> str:
    principal = Principal(id="k1", roles=(role,), tenant=None, auth_method="api_key")
    exchange = Exchange(CHAT, principal, "req-1", {}, "m", False, None)
    exchange.pseudonyms = PseudonymMap(dict(pseudonyms or {}))
    filt = make_filter(services, exchange, streaming=False)
    return filt.feed("0.content", text, last=True).text


@pytest.mark.parametrize("role", ["service", "clinician"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The patient is Maria Gonzalez.", "The patient is [REDACTED_PERSON]."),
        ("患者张伟今天来复诊。", "患者[REDACTED_PERSON]今天来复诊。"),
    ],
)
def test_a_bare_name_in_a_whole_answer_is_redacted(
    services: Any, role: str, text: str, expected: str
) -> None:
    assert _answer(services, role, text, OWN) == expected


@pytest.mark.parametrize("role", ["service", "clinician"])
def test_a_name_in_a_token_shape_is_text_and_redacted(services: Any, role: str) -> None:
    out = _answer(services, role, "Patient [PERSON_Maria Gonzalez] was seen.", OWN)
    assert "Maria" not in out and "Gonzalez" not in out and "[REDACTED_PERSON]" in out


def test_the_clinicians_own_pseudonym_is_restored_and_other_names_redacted(services: Any) -> None:
    text = "[PERSON_1] is stable. 患者张伟今天来复诊。"
    rest = " is stable. 患者[REDACTED_PERSON]今天来复诊。"
    assert _answer(services, "clinician", text, OWN) == "Maria Gonzalez" + rest
    assert _answer(services, "service", text, OWN) == "[PERSON_1]" + rest


def test_a_pseudonym_this_request_did_not_issue_is_not_restored(services: Any) -> None:
    out = _answer(services, "clinician", "Ask [PERSON_2] about it.", OWN)
    assert "Maria" not in out and "[PERSON_2]" in out


def test_without_answer_ner_whole_answers_look_for_identifiers_only(services: Any) -> None:
    quiet: Any = SimpleNamespace(
        policy=services.policy,
        detector=services.detector,
        settings=Settings(pii=PIISettings(answer_ner=False)),
    )
    principal = Principal(id="k1", roles=("service",), tenant=None, auth_method="api_key")
    filt = make_filter(quiet, Exchange(CHAT, principal, "req-1", {}, "m", False, None), streaming=False)
    text = "The patient is Maria Gonzalez, call 415-555-0132."
    assert filt.feed("0.content", text, last=True).text == (
        "The patient is Maria Gonzalez, call [REDACTED_PHONE_NUMBER]."
    )
