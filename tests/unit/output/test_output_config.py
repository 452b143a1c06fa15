"""Validation of output.yaml: errors name the dotted key; rules compile per role."""

from __future__ import annotations

from typing import Any

import pytest

from policies.errors import PolicyDocumentError
from policies.output.config import (
    COMPILED_CACHE_SIZE,
    OutputPolicy,
    compile_rules_for_role,
    parse_output_policy,
)


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
            "output.rules[1].action",
        ),
        ({"rules": [{"id": "a b", "action": "flag", "phrases": ["x"]}]}, "output.rules[0].id"),
        ({"rules": [{"id": "a", "action": "flag"}]}, "output.rules[0]"),
        ({"rules": [{"id": "a", "action": "flag", "phrases": ["x", ""]}]}, "output.rules[0].phrases[1]"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "EMP-\\d+"}]}, "output.rules[0].max_len"),
        (
            {"rules": [{"id": "a", "action": "flag", "regex": "EMP-\\d+", "max_len": 1000}]},
            "output.rules[0].max_len",
        ),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(unclosed"}]}, "output.rules[0].regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(?i)emp"}]}, "output.rules[0].regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "(a)\\1"}]}, "output.rules[0].regex"),
        ({"rules": [{"id": "a", "action": "flag", "regex": "x?"}]}, "output.rules[0].regex"),
        (
            {"rules": [{"id": "a", "action": "flag", "phrases": ["x"], "roles": "service"}]},
            "output.rules[0].roles",
        ),
        (
            {
                "rules": [
                    {"id": "a", "action": "flag", "phrases": ["x"]},
                    {"id": "a", "action": "flag", "phrases": ["y"]},
                ]
            },
            "output.rules[1].id",
        ),
        ({"topics": {"weapons": {"action": "block"}}}, "output.topics.weapons.keywords"),
        (
            {
                "topics": {"weapons": {"action": "block", "keywords": ["x"]}},
                "role_topics": {"service": ["drugs"]},
            },
            "output.role_topics.service[0]",
        ),
        ({"injection": {"roles": {"service": "deny"}}}, "output.injection.roles.service"),
        (
            {"injection": {"indicators": [{"id": "x", "patterns": ["("]}]}},
            "output.injection.indicators[0].patterns[0]",
        ),
        ({"injection": {"indicators": [{"id": "x"}]}}, "output.injection.indicators[0].patterns"),
    ],
)
def test_invalid_document_names_the_key(doc: dict[str, Any], key: str) -> None:
    assert _error_key(doc) == key


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        (
            {"rules": [{"id": "a", "action": "flag", "phrases": ["x"], "colour": "secret-9f2c"}]},
            "output.rules[0].colour",
        ),
        ({"rules": [{"id": "a", "action": "secret-9f2c", "phrases": ["x"]}]}, "output.rules[0].action"),
        ({"rules": [{"id": "secret-9f2c!", "action": "flag", "phrases": ["x"]}]}, "output.rules[0].id"),
        (
            {"rules": [{"id": "a", "action": "flag", "regex": "secret-9f2c", "max_len": 0}]},
            "output.rules[0].max_len",
        ),
        (
            {"rules": [{"id": "a", "action": "flag", "regex": "secret-9f2c", "ignore_case": "yes"}]},
            "output.rules[0].ignore_case",
        ),
        ({"topics": {"t": {"action": "flag", "keywords": "secret-9f2c"}}}, "output.topics.t.keywords"),
        (
            {
                "topics": {
                    "ok": {"action": "flag", "keywords": ["k"]},
                    "t": {"action": "flag", "kw": ["secret-9f2c"]},
                }
            },
            "output.topics.t.kw",
        ),
        ({"version": "secret-9f2c"}, "output.version"),
        ({"injection": {"default_action": "secret-9f2c"}}, "output.injection.default_action"),
        ({"injection": {"roles": {"a": "flag", "b": "secret-9f2c"}}}, "output.injection.roles.b"),
        (
            {"injection": {"indicators": [{"id": "x", "patterns": ["(?<secret-9f2c"]}]}},
            "output.injection.indicators[0].patterns[0]",
        ),
    ],
)
def test_errors_name_the_field_and_never_quote_its_value(doc: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy({"output": doc}, "site/output.yaml")
    assert exc.value.key == key
    assert "secret-9f2c" not in str(exc.value)


def test_unknown_action_lists_the_allowed_ones() -> None:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy({"rules": [{"id": "a", "action": "nuke", "phrases": ["x"]}]}, "f")
    assert exc.value.reason == "must be one of block, flag, redact"


def test_a_site_rule_may_not_take_a_built_in_rule_id() -> None:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy(
            {
                "secrets": {"jwt": "redact"},
                "rules": [{"id": "secret.jwt", "action": "flag", "phrases": ["x"]}],
            },
            "f",
        )
    assert (exc.value.key, exc.value.reason) == ("output.rules[0].id", "duplicate rule id")


def test_a_whole_document_with_another_top_level_key_is_refused() -> None:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_output_policy({"output": {"rules": []}, "outptu": {}}, "f")
    assert exc.value.key == "outptu"


def test_empty_sections_mean_no_rules() -> None:
    policy = parse_output_policy({"output": None}, "f")
    assert policy.rules == () and policy.injection.indicators == ()
    policy = parse_output_policy({"rules": None, "topics": None, "injection": {"indicators": None}}, "f")
    assert policy.rules == ()


def test_compiled_rules_cache_is_bounded_and_keeps_recent_role_sets() -> None:
    policy = parse_output_policy({"rules": [{"id": "a", "action": "flag", "phrases": ["x"]}]}, "f")
    first = compile_rules_for_role(policy, ["r0"])
    for i in range(1, COMPILED_CACHE_SIZE):
        compile_rules_for_role(policy, [f"r{i}"])
    assert compile_rules_for_role(policy, ["r0"]) is first  # used again: now the most recent
    compile_rules_for_role(policy, ["one-more"])
    assert len(policy._cache) == COMPILED_CACHE_SIZE
    assert ("r1",) not in policy._cache and ("r0",) in policy._cache


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
