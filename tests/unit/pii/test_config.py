from __future__ import annotations

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
            "unknown action 'x'",
        ),
        (
            {"pii": {"profiles": {"default": {"actions": {"PERSN": "redact"}}}}},
            "pii.profiles.default.actions.PERSN",
            "unknown entity type",
        ),
        (
            {"pii": {"profiles": {"default": {"min_score": 2}}}},
            "pii.profiles.default.min_score",
            "between 0 and 1",
        ),
        ({"pii": {"profiles": {}}}, "pii.profiles", "non-empty"),
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
        ({"pii": {"profiles": {"default": {"colour": 1}}}}, "pii.profiles.default.colour", "unknown key"),
    ],
)
def test_invalid_documents_name_the_key_and_reason(doc: dict, key: str, reason: str) -> None:
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
