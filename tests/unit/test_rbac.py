"""Pure RBAC decisions: deny by default, model allow-lists, separation of duties, policy validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.errors import PolicyDocumentError, PolicyViolation
from policies.rbac import (
    CONTROL_PERMISSIONS,
    PERMISSIONS,
    SOD_RESTRICTED_PERMISSIONS,
    Principal,
    RateLimits,
    RBACPolicy,
    authorize,
    effective_pii_profile,
    effective_rate_limits,
    granting_roles,
    has_permission,
    may_unmask,
    parse_rbac_policy,
    requires_subject,
    tenant_may_access,
    validate_role_assignment,
)

DEFAULT_ROLES = Path(__file__).resolve().parents[2] / "policies" / "defaults" / "roles.yaml"


@pytest.fixture(scope="module")
def policy() -> RBACPolicy:
    return parse_rbac_policy(yaml.safe_load(DEFAULT_ROLES.read_text()), str(DEFAULT_ROLES))


def who(*roles: str, models: tuple[str, ...] | None = None, tenant: str | None = None) -> Principal:
    return Principal(id="k1", roles=roles, tenant=tenant, auth_method="api_key", key_id="k1", models=models)


def granted(policy: RBACPolicy, role: str) -> set[str]:
    return {p for p in PERMISSIONS if has_permission(policy, who(role), p)}


# ------------------------------------------------- default roles (policies/defaults/roles.yaml)


def test_default_roles_grant_exactly_the_design_table(policy: RBACPolicy) -> None:
    chat = {"chat", "completions", "models:list"}
    assert granted(policy, "clinician") == chat | {"pii:unmask"}
    assert granted(policy, "analyst") == chat | {"pii:unmask"}
    assert granted(policy, "service") == chat
    assert granted(policy, "auditor") == {"audit:read", "audit:read_content", "audit:export", "audit:verify"}
    assert granted(policy, "dpo") == {"dsr:export", "dsr:erase", "dsr:hold"}
    assert granted(policy, "admin") == {
        "keys:manage",
        "policy:reload",
        "retention:run",
        "engine:manage",
        "audit:verify",
        "openapi:read",
        "metrics:read",
    }


def test_no_default_role_can_both_change_the_rules_and_hide_it(policy: RBACPolicy) -> None:
    for name, role in policy.roles.items():
        controls = role.permissions & CONTROL_PERMISSIONS
        hides = role.permissions & SOD_RESTRICTED_PERMISSIONS
        assert not (controls and hides), name
    assert not has_permission(policy, who("admin"), "audit:read_content")
    assert not has_permission(policy, who("admin"), "dsr:erase")
    assert not has_permission(policy, who("auditor"), "chat")
    assert not has_permission(policy, who("auditor"), "policy:reload")
    assert not has_permission(policy, who("dpo"), "policy:reload")
    assert not has_permission(policy, who("dpo"), "audit:read_content")


def test_principal_combining_admin_and_auditor_is_denied_everything(policy: RBACPolicy) -> None:
    decision = authorize(policy, who("admin", "auditor"), "audit:read_content")
    assert not decision.allowed
    assert decision.reason == "separation_of_duties_conflict"
    assert not authorize(policy, who("admin", "dpo"), "keys:manage").allowed


def test_service_output_stays_pseudonymized_and_clinician_may_unmask(policy: RBACPolicy) -> None:
    assert not may_unmask(policy, who("service"))
    assert may_unmask(policy, who("clinician"))


def test_clinician_must_name_the_data_subject_and_service_need_not(policy: RBACPolicy) -> None:
    assert requires_subject(policy, who("clinician"))
    assert not requires_subject(policy, who("service"))
    assert requires_subject(policy, who("service", "clinician"))


# ----------------------------------------------------------------- deny by default


def test_unknown_role_grants_nothing(policy: RBACPolicy) -> None:
    decision = authorize(policy, who("superuser"), "chat")
    assert not decision.allowed
    assert decision.reason == "no_known_role"
    assert not policy.known_roles(who("superuser", "root"))


def test_unknown_role_beside_a_known_one_adds_nothing(policy: RBACPolicy) -> None:
    assert [role.name for role in policy.known_roles(who("service", "superuser"))] == ["service"]
    assert not has_permission(policy, who("service", "superuser"), "keys:manage")


def test_unknown_permission_is_denied(policy: RBACPolicy) -> None:
    decision = authorize(policy, who("admin"), "everything")
    assert (decision.allowed, decision.reason) == (False, "unknown_permission")


def test_principal_without_roles_is_denied(policy: RBACPolicy) -> None:
    assert authorize(policy, who(), "chat").reason == "no_known_role"


# ----------------------------------------------------------------- models and tenants


def restricted_policy() -> RBACPolicy:
    return parse_rbac_policy(
        {
            "roles": {
                "small": {"permissions": ["chat"], "models": ["qwen-*"]},
                "big": {"permissions": ["chat"], "models": ["deepseek-v3"]},
                "nomodel": {"permissions": ["chat"], "models": []},
            }
        },
        "test",
    )


def test_role_model_allow_list_with_patterns() -> None:
    p = restricted_policy()
    assert authorize(p, who("small"), "chat", "qwen-7b").allowed
    decision = authorize(p, who("small"), "chat", "deepseek-v3")
    assert (decision.allowed, decision.reason) == (False, "model_not_allowed_for_role")
    assert not authorize(p, who("nomodel"), "chat", "qwen-7b").allowed


def test_roles_granting_a_model_are_reported_not_the_others() -> None:
    decision = authorize(restricted_policy(), who("small", "big"), "chat", "deepseek-v3")
    assert decision.allowed
    assert decision.roles == ("big",)


def test_key_model_allow_list_narrows_the_role(policy: RBACPolicy) -> None:
    principal = who("service", models=("deepseek-v3",))
    assert authorize(policy, principal, "chat", "deepseek-v3").allowed
    decision = authorize(policy, principal, "chat", "other-model")
    assert (decision.allowed, decision.reason) == (False, "model_not_allowed_for_key")


def test_visible_models_follow_both_allow_lists() -> None:
    p = restricted_policy()

    def chat_models(principal: Principal, models: list[str]) -> list[str]:
        return [m for m in models if authorize(p, principal, "chat", m).allowed]

    assert chat_models(who("small"), ["qwen-7b", "deepseek-v3", "qwen-72b"]) == ["qwen-7b", "qwen-72b"]
    assert chat_models(who("small", models=("qwen-72b",)), ["qwen-7b", "qwen-72b"]) == ["qwen-72b"]


@pytest.mark.parametrize(
    ("caller", "owner", "allowed"),
    [
        (None, None, True),
        (None, "t1", True),
        ("t1", "t1", True),
        ("t1", "t2", False),
        ("t1", None, False),  # objects with no tenant belong to unbound credentials only
        ("t1", "T1", False),
        ("t1", "", False),
    ],
)
def test_one_tenant_rule_decides_every_object(
    policy: RBACPolicy, caller: str | None, owner: str | None, allowed: bool
) -> None:
    assert tenant_may_access(caller, owner) is allowed
    for role, permission in (("admin", "keys:manage"), ("auditor", "audit:read")):
        decision = authorize(policy, who(role, tenant=caller), permission, resource_tenant=owner)
        assert decision.allowed is allowed
        if not allowed:
            assert decision.reason == "tenant_mismatch"


def test_no_resource_means_no_tenant_check(policy: RBACPolicy) -> None:
    assert authorize(policy, who("clinician", tenant="t1"), "chat").allowed


def test_tenant_bound_principal_is_denied_another_tenants_resource(policy: RBACPolicy) -> None:
    assert authorize(policy, who("admin", tenant="a"), "keys:manage", resource_tenant="a").allowed
    decision = authorize(policy, who("admin", tenant="a"), "keys:manage", resource_tenant="b")
    assert (decision.allowed, decision.reason) == (False, "tenant_mismatch")
    assert authorize(policy, who("admin"), "keys:manage", resource_tenant="b").allowed


# ----------------------------------------------------------------- decision values


def test_decision_records_permission_roles_reason_but_no_credential(policy: RBACPolicy) -> None:
    decision = authorize(policy, who("service"), "chat", "m")
    fields = decision.audit_fields()
    assert fields == {
        "allowed": True,
        "permission": "chat",
        "roles": ["service"],
        "reason": "granted",
        "model": "m",
        "principal_id": "k1",
        "auth_method": "api_key",
    }
    denied = authorize(policy, who("service"), "audit:read").audit_fields()
    assert denied["allowed"] is False and denied["reason"] == "permission_not_granted"


# ----------------------------------------------------------------- profiles and limits


def test_pii_profile_comes_from_the_first_granting_role_in_document_order() -> None:
    p = parse_rbac_policy(
        {
            "roles": {
                "strict": {"permissions": ["chat"], "pii_profile": "strict"},
                "loose": {"permissions": ["chat"], "pii_profile": "loose"},
                "reader": {"permissions": ["audit:read"], "pii_profile": "unused"},
            }
        },
        "test",
    )
    assert effective_pii_profile(p, who("loose", "strict")) == "strict"
    assert effective_pii_profile(p, who("loose", "reader")) == "loose"


def test_role_wide_limits_are_parsed_and_validated() -> None:
    p = parse_rbac_policy(
        {
            "roles": {
                "svc": {"permissions": ["chat"], "role_requests_per_minute": 1000, "role_tokens_per_day": 9}
            }
        },
        "test",
    )
    assert (p.roles["svc"].role_requests_per_minute, p.roles["svc"].role_tokens_per_day) == (1000, 9)
    assert (
        parse_error({"roles": {"s": {"permissions": [], "role_tokens_per_day": -1}}}).key
        == "roles.s.role_tokens_per_day"
    )


def test_granting_roles_are_the_known_roles_holding_the_permission_in_document_order() -> None:
    p = parse_rbac_policy(
        {
            "roles": {
                "strict": {"permissions": ["chat"]},
                "reader": {"permissions": ["audit:read"]},
                "loose": {"permissions": ["chat", "models:list"]},
            }
        },
        "test",
    )
    principal = who("loose", "ghost", "reader", "strict")
    assert [r.name for r in granting_roles(p, principal, "chat")] == ["strict", "loose"]
    assert [r.name for r in granting_roles(p, principal, "audit:read")] == ["reader"]
    assert granting_roles(p, principal, "keys:manage") == []
    assert granting_roles(p, who("ghost"), "chat") == []


def test_rate_limits_are_the_most_generous_of_the_granting_roles() -> None:
    p = parse_rbac_policy(
        {
            "roles": {
                "a": {"permissions": ["chat"], "requests_per_minute": 10, "tokens_per_day": 100},
                "b": {"permissions": ["chat"], "requests_per_minute": 50},
            }
        },
        "test",
    )
    assert effective_rate_limits(p, who("a")) == RateLimits(10, 100)
    assert effective_rate_limits(p, who("a", "b")) == RateLimits(50, None)


# ----------------------------------------------------------------- role assignment for new keys


def test_admin_over_http_may_grant_only_chat_roles(policy: RBACPolicy) -> None:
    admin = who("admin")
    assert validate_role_assignment(policy, ["service", "service"], granted_by=admin) == ("service",)
    with pytest.raises(PolicyViolation) as exc:
        validate_role_assignment(policy, ["auditor"], granted_by=admin)
    assert exc.value.code == "role_not_grantable"
    with pytest.raises(PolicyViolation):
        validate_role_assignment(policy, ["service"], granted_by=who("service"))


def test_role_assignment_refuses_unknown_roles_empty_lists_and_sod_combinations(policy: RBACPolicy) -> None:
    assert validate_role_assignment(policy, ["auditor"]) == ("auditor",)
    for roles, code in (
        (["nope"], "unknown_role"),
        ([], "no_roles"),
        (["admin", "auditor"], "separation_of_duties_conflict"),
    ):
        with pytest.raises(PolicyViolation) as exc:
            validate_role_assignment(policy, roles)
        assert exc.value.code == code


# ----------------------------------------------------------------- document validation


def parse_error(doc: Any) -> PolicyDocumentError:
    with pytest.raises(PolicyDocumentError) as exc:
        parse_rbac_policy(doc, "site/roles.yaml")
    return exc.value


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"roles": {"x": {"permissions": ["chat", "fly"]}}}, "roles.x.permissions[1]"),
        ({"roles": {"x": {"permissions": ["chat"], "rpm": 3}}}, "roles.x.rpm"),
        (
            {"roles": {"x": {"permissions": ["chat"], "requests_per_minute": 0}}},
            "roles.x.requests_per_minute",
        ),
        (
            {"roles": {"x": {"permissions": ["chat"], "requests_per_minute": True}}},
            "roles.x.requests_per_minute",
        ),
        ({"roles": {"x": {"permissions": ["chat"], "require_subject": "yes"}}}, "roles.x.require_subject"),
        ({"roles": {"x": {"permissions": ["chat"], "models": "all"}}}, "roles.x.models"),
        ({"roles": {"x": {}}}, "roles.x.permissions"),
        ({"roles": {"Bad Name": {"permissions": []}}}, "roles.Bad Name"),
        (
            {"roles": {"x": {"permissions": ["keys:manage"], "grantable_roles": ["y"]}}},
            "roles.x.grantable_roles[0]",
        ),
        ({"roles": {}}, "roles"),
        ({"rolez": {}}, "rolez"),
        ({"version": 2, "roles": {"x": {"permissions": []}}}, "version"),
        ({"roles": {"x": {"permissions": ["chat"], "models": ["a", " "]}}}, "roles.x.models[1]"),
        ({"roles": {"x": None}}, "roles.x"),
        (
            {"roles": {"a": {"permissions": []}, "x": {"permissions": ["chat"], "tokens_per_day": 1.5}}},
            "roles.x.tokens_per_day",
        ),
    ],
)
def test_invalid_documents_name_the_bad_key(doc: Any, key: str) -> None:
    error = parse_error(doc)
    assert error.key == key
    assert error.source == "site/roles.yaml"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("permissions", ["chat", "secret-9f2c"]),
        ("pii_profile", ["secret-9f2c"]),
        ("requests_per_minute", "secret-9f2c"),
        ("require_subject", "secret-9f2c"),
        ("models", "secret-9f2c"),
    ],
)
def test_bad_values_are_named_by_path_never_quoted(field: str, value: Any) -> None:
    error = parse_error({"roles": {"ops": {"permissions": ["chat"], field: value}}})
    assert error.key.startswith(f"roles.ops.{field}")
    assert "secret-9f2c" not in str(error)


def test_unknown_permission_lists_the_vocabulary_not_the_value() -> None:
    error = parse_error({"roles": {"ops": {"permissions": ["chat", "root:everything"]}}})
    assert error.key == "roles.ops.permissions[1]"
    assert "root:everything" not in str(error)
    assert "openapi:read" in error.reason and "keys:manage" in error.reason


def test_output_profile_is_no_longer_a_role_field() -> None:
    error = parse_error({"roles": {"ops": {"permissions": ["chat"], "output_profile": "strict"}}})
    assert error.key == "roles.ops.output_profile"
    assert error.reason.startswith("unknown field")


def test_admin_reads_the_api_description_and_no_one_else(policy: RBACPolicy) -> None:
    assert "openapi:read" in PERMISSIONS
    assert [name for name in policy.roles if has_permission(policy, who(name), "openapi:read")] == ["admin"]


def test_role_breaking_separation_of_duties_is_rejected_at_load() -> None:
    error = parse_error({"roles": {"god": {"permissions": ["policy:reload", "dsr:erase"]}}})
    assert error.key == "roles.god.permissions"
    assert "separation of duties" in error.reason


def test_policy_roles_cannot_be_mutated(policy: RBACPolicy) -> None:
    with pytest.raises(TypeError):
        policy.roles["root"] = policy.roles["admin"]  # type: ignore[index]
