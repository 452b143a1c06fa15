from __future__ import annotations

from typing import Any

import pytest

from policies.errors import PolicyDocumentError
from policies.pii.config import Action, load_default_pii_policy, parse_pii_policy


def test_default_policy_parses_with_profiles_and_mrn_pattern() -> None:
    policy = load_default_pii_policy()
    assert {"default", "clinical", "banking", "strict"} <= set(policy.profiles)
    assert policy.profile("strict").action_for("CN_ID_CARD") is Action.BLOCK
    assert policy.profile("strict").action_for("PERSON") is Action.REDACT
    assert policy.profile("no-such-role") is policy.profiles["default"]
    assert [p.name for p in policy.custom_patterns] == ["MEDICAL_RECORD_NUMBER"]


def test_vehicle_plates_are_pseudonymized_by_default_and_redacted_when_strict() -> None:
    policy = load_default_pii_policy()
    assert policy.profile("default").action_for("VEHICLE_PLATE") is Action.PSEUDONYMIZE
    assert policy.profile("clinical").action_for("VEHICLE_PLATE") is Action.PSEUDONYMIZE
    assert policy.profile("strict").action_for("VEHICLE_PLATE") is Action.REDACT


@pytest.mark.parametrize(
    ("doc", "key", "reason"),
    [
        (
            {"pii": {"profiles": {"clinical": {"actions": {"PERSON": "x"}}}}},
            "pii.profiles.clinical.actions.PERSON",
            "must be one of allow, block, mask, pseudonymize, redact",
        ),
        (
            {"pii": {"profiles": {"default": {"actions": {"PERSN": "redact"}}}}},
            "pii.profiles.default.actions.PERSN",
            "unknown entity type",
        ),
        (
            {"pii": {"profiles": {"default": {"min_score": 2}}}},
            "pii.profiles.default.min_score",
            "<= 1.0",
        ),
        ({"pii": {"profiles": {}}}, "pii.profiles", "length >= 1"),
        ({"pii": {"profiles": {"x": {}}}}, "pii.default_profile", "defined profile"),
        (
            {"pii": {"profiles": {"default": {}}, "custom_patterns": [{"name": "MRN", "regex": "("}]}},
            "pii.custom_patterns[0].regex",
            "invalid regular expression",
        ),
        (
            {"pii": {"profiles": {"default": {}}, "custom_patterns": [{"name": "REDACTED_X", "regex": "a"}]}},
            "pii.custom_patterns[0].name",
            "reserved",
        ),
        ({"pii": {"profiles": {"default": {"colour": 1}}}}, "pii.profiles.default.colour", "unknown field"),
        ({"pii": {"profiles": {"default": {}}}, "colour": 1}, "colour", "unknown field"),
        ({"profiles": {"default": {}}, "colour": 1}, "pii.colour", "unknown field"),
        ({"pii": {"profiles": {"default": {"min_score": True}}}}, "pii.profiles.default.min_score", "bool"),
        (
            {"pii": {"profiles": {"default": {}}, "custom_patterns": [{"name": "mrn", "regex": "a"}]}},
            "pii.custom_patterns[0].name",
            "matching regex",
        ),
        (
            {
                "pii": {
                    "profiles": {"default": {}},
                    "custom_patterns": [{"name": "MRN", "regex": "a", "score": 0}],
                }
            },
            "pii.custom_patterns[0].score",
            "> 0.0",
        ),
        (
            {
                "pii": {
                    "profiles": {"default": {}},
                    "custom_patterns": [{"name": "MRN", "regex": "a"}, {"name": "MRN", "regex": "b"}],
                }
            },
            "pii.custom_patterns[1].name",
            "duplicate",
        ),
        (
            {"pii": {"profiles": {"default": {}}, "custom_patterns": [{"name": "MRN", "regex": "x*"}]}},
            "pii.custom_patterns[0].regex",
            "empty string",
        ),
    ],
)
def test_invalid_documents_name_the_key_and_reason(doc: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(PolicyDocumentError) as info:
        parse_pii_policy(doc, "site.yaml")
    assert info.value.source == "site.yaml" and info.value.key == key
    assert reason in info.value.reason


def test_custom_pattern_entity_type_may_be_given_an_action() -> None:
    policy = parse_pii_policy(
        {
            "profiles": {"default": {"actions": {"EMPLOYEE_ID": "redact"}}},
            "custom_patterns": [{"name": "EMPLOYEE_ID", "regex": r"EMP\d{5}"}],
        },
        "site.yaml",
    )
    assert policy.profile(None).action_for("EMPLOYEE_ID") is Action.REDACT


def test_a_site_policy_may_name_vehicle_plates() -> None:
    policy = parse_pii_policy(
        {"pii": {"profiles": {"default": {"actions": {"VEHICLE_PLATE": "block"}}}}}, "site.yaml"
    )
    assert policy.profile("default").action_for("VEHICLE_PLATE") is Action.BLOCK


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"profiles": {"default": {"default_action": "shred-9f2c"}}}, "pii.profiles.default.default_action"),
        ({"profiles": {"default": {"min_score": "secret-9f2c"}}}, "pii.profiles.default.min_score"),
        (
            {"profiles": {"default": {}}, "custom_patterns": [{"name": "MRN", "regex": "secret-9f2c(?<x"}]},
            "pii.custom_patterns[0].regex",
        ),
        (
            {"profiles": {"default": {}}, "custom_patterns": [{"name": "MRN", "regex": "(secret-9f2c"}]},
            "pii.custom_patterns[0].regex",
        ),
        (
            {"profiles": {"default": {}}, "custom_patterns": [{"name": "secret-9f2c", "regex": "a"}]},
            "pii.custom_patterns[0].name",
        ),
    ],
)
def test_errors_name_the_field_and_never_quote_its_value(doc: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyDocumentError) as info:
        parse_pii_policy(doc, "site.yaml")
    assert info.value.key == key
    assert "secret-9f2c" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_empty_profile_and_empty_actions_mean_the_defaults() -> None:
    policy = parse_pii_policy(
        {"pii": {"profiles": {"default": None, "strict": {"actions": None}}}}, "site.yaml"
    )
    assert policy.profile("default").action_for("PERSON") is Action.PSEUDONYMIZE
    assert policy.profile("strict").min_score == 0.5
