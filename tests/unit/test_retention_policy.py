"""The retention policy document: limits per record kind, and the legal-minimum check at load."""

from __future__ import annotations

from typing import Any

import pytest

from policies.bundle import DEFAULT_POLICY_DIR, check_policy_file, load_policy_bundle
from policies.errors import PolicyDocumentError
from policies.retention import parse_retention_policy


def parse(section: dict[str, Any]) -> Any:
    return parse_retention_policy({"retention": section}, "retention.yaml")


def test_most_specific_rule_decides_exact_then_longest_prefix_then_default() -> None:
    policy = parse(
        {
            "default": {"max_days": 999},
            "kinds": {
                "chat.*": {"max_days": 30},
                "chat.response": {"min_days": 1, "max_days": 7},
                "admin.keys.*": {"max_days": 400},
                "admin.*": {"max_days": 800},
            },
        }
    )
    assert policy.limits_for("chat.request") == (0, 30)
    assert policy.limits_for("chat.response") == (1, 7)
    assert policy.limits_for("admin.keys.create") == (0, 400)
    assert policy.limits_for("admin.keyring.rotate") == (0, 800)
    assert policy.limits_for("chatty.request") == (0, 999)  # a prefix is a whole word


def test_shipped_policy_loads_with_the_bundle_and_keeps_unknown_kinds() -> None:
    retention = load_policy_bundle(DEFAULT_POLICY_DIR).retention
    assert retention.limits_for("chat.request")[1] == 30
    assert retention.limits_for("auth.failure") == (180, 400)
    assert retention.limits_for("dsr.erase")[1] is None
    assert retention.limits_for("something.new")[1] is None
    assert retention.legal_minimum_for("authz.denied") == 180


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (
            {"kinds": {"auth.*": {"max_days": 90}}, "legal_minimum_days": {"auth.*": 180}},
            "retention.kinds.auth.*.max_days",
        ),
        (
            {"kinds": {"*": {"max_days": 90}}, "legal_minimum_days": {"auth.failure": 180}},
            "retention.kinds.*.max_days",
        ),
        ({"default": {"max_days": 90}, "legal_minimum_days": {"auth.*": 180}}, "retention.default.max_days"),
        ({"kinds": {"chat.*": {"min_days": 40, "max_days": 30}}}, "retention.kinds.chat.*.max_days"),
        ({"kinds": {"Chat Request": {"max_days": 30}}}, "retention.kinds"),
        ({"kinds": {"chat.*": {"max_days": -1}}}, "retention.kinds[...].max_days"),
        ({"kinds": {"chat.*": {"max_days": "30"}}}, "retention.kinds[...].max_days"),
        ({"kinds": {"chat.*": {"maximum": 30}}}, "retention.kinds[...]"),
    ],
)
def test_bad_policies_are_refused_naming_the_field_never_the_value(section: dict[str, Any], key: str) -> None:
    with pytest.raises(PolicyDocumentError) as refused:
        parse(section)
    assert refused.value.key.startswith(key.split("[")[0])
    assert "-1" not in str(refused.value) and "'30'" not in str(refused.value)


def test_default_rule_below_a_covered_legal_minimum_is_allowed() -> None:
    policy = parse(
        {
            "default": {"max_days": 30},
            "kinds": {"auth.*": {"max_days": 400}},
            "legal_minimum_days": {"auth.*": 180},
        }
    )
    assert policy.limits_for("auth.failure")[1] == 400


def test_policy_check_reads_a_site_retention_file(tmp_path: Any) -> None:
    site = tmp_path / "retention.yaml"
    site.write_text("retention:\n  kinds:\n    auth.*:\n      min_days: 0\n      max_days: 30\n")
    errors = check_policy_file(site)
    assert len(errors) == 1 and "legal minimum" in errors[0]
    site.write_text("retention:\n  kinds:\n    chat.*:\n      max_days: 7\n")
    assert check_policy_file(site) == []
