"""Validation of output.yaml: errors name the dotted key; rules compile per role."""

from __future__ import annotations

from typing import Any

import pytest

from policies.errors import PolicyDocumentError
from policies.output.config import OutputPolicy, compile_rules_for_role, parse_output_policy


def _error_key(doc: dict[str, Any]) -> str:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy({"output": doc}, "site/output.yaml")
    assert exc.value.source == "site/output.yaml"
    return exc.value.key


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"colour": 1}, "output.colour"),
        ({"secrets": {"openai_api_key": "shred"}}, "output.secrets.openai_api_key"),
        ({"secrets": {"vault_token": "redact"}}, "output.secrets.vault_token"),
        ({"rules": {"id": "x"}}, "output.rules"),
        (
            {
                "rules": [
                    {"id": "a", "action": "redact", "phrases": ["x"]},
                    {"id": "b", "action": "nuke", "phrases": ["y"]},
                ]
            },
            "output.rules.1.action",
        ),
        ({"rules": [{"id": "a b", "action": "flag", "phrases": ["x"]}]}, "output.rules.0.id"),
        ({"rules": [{"id": "a", "action": "flag"}]}, "output.rules.0"),
        ({"rules": [{"id": "a", "action": "flag", "phrases": ["x", ""]}]}, "output.rules.0.phrases.1"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "EMP-\\d+"}]}, "output.rules.0.max_len"),
        (
            {"rules": [{"id": "a", "action": "flag", "regex": "EMP-\\d+", "max_len": 1000}]},
            "output.rules.0.max_len",
        ),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(unclosed"}]}, "output.rules.0.regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(?i)emp"}]}, "output.rules.0.regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(a)\\1"}]}, "output.rules.0.regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "x?"}]}, "output.rules.0.regex"),
        (
            {"rules": [{"id": "a", "action": "flag", "phrases": ["x"], "roles": "service"}]},
            "output.rules.0.roles",
        ),
        (
            {
                "rules": [
                    {"id": "a", "action": "flag", "phrases": ["x"]},
                    {"id": "a", "action": "flag", "phrases": ["y"]},
                ]
            },
            "output.rules.1.id",
        ),
        ({"topics": {"weapons": {"action": "block"}}}, "output.topics.weapons.keywords"),
        (
            {
                "topics": {"weapons": {"action": "block", "keywords": ["x"]}},
                "role_topics": {"service": ["drugs"]},
            },
            "output.role_topics.service.0",
        ),
        ({"injection": {"roles": {"service": "deny"}}}, "output.injection.roles.service"),
        (
            {"injection": {"indicators": [{"id": "x", "patterns": ["("]}]}},
            "output.injection.indicators.0.patterns.0",
        ),
        ({"injection": {"indicators": [{"id": "x"}]}}, "output.injection.indicators.0.patterns"),
    ],
)
def test_invalid_document_names_the_key(doc: dict[str, Any], key: str) -> None:
    assert _error_key(doc) == key


def test_error_message_does_not_quote_the_pattern() -> None:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy({"rules": [{"id": "a", "action": "flag", "regex": "secret-sauce-(("}]}, "f")
    assert "secret-sauce" not in str(exc.value)


def test_regex_max_len_is_derived_when_bounded_and_taken_when_declared() -> None:
    policy = parse_output_policy(
        {
            "rules": [
                {"id": "emp", "action": "redact", "regex": "EMP-\\d{6}"},
                {"id": "tkt", "action": "flag", "regex": "TKT-\\d+", "max_len": 20},
            ]
        },
        "f",
    )
    by_id = {r.id: r for r in policy.rules}
    assert by_id["emp"].max_len == 10
    assert by_id["tkt"].max_len == 20


def test_rules_compile_per_role_set_and_are_cached(output_policy: OutputPolicy) -> None:
    a = compile_rules_for_role(output_policy, ["service", "analyst"])
    b = compile_rules_for_role(output_policy, ["analyst", "service"])
    assert a is b
    auditor = compile_rules_for_role(output_policy, ["auditor"])
    assert "topic.weapons_synthesis" in {r.id for r in a.rules}
    assert "topic.weapons_synthesis" not in {r.id for r in auditor.rules}
    assert "secret.private_key" in {r.id for r in auditor.rules}


def test_block_rules_come_first_in_the_alternation(output_policy: OutputPolicy) -> None:
    actions = [r.action for r in compile_rules_for_role(output_policy, ["service"]).rules]
    assert actions == sorted(actions, key=["block", "redact", "flag"].index)


def test_secret_set_to_off_is_not_used() -> None:
    policy = parse_output_policy({"secrets": {"jwt": "off", "private_key": "block"}}, "f")
    assert [r.id for r in policy.rules] == ["secret.private_key"]


def test_shipped_default_policy_parses(output_policy: OutputPolicy) -> None:
    ids = {r.id for r in output_policy.rules}
    assert {"secret.openai_api_key", "secret.private_key", "secret.jwt", "deny.guarantees"} <= ids
    assert output_policy.injection.role_actions["service"] == "block"
    assert output_policy.injection.default_action == "flag"
