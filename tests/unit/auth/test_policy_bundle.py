"""Policy bundle: site overlays, digest, `policy check`, and reloads that never install a bad policy."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import policies.bundle as bundle_module
from policies.bundle import (
    DEFAULT_POLICY_DIR,
    PolicyHolder,
    check_policy_file,
    load_policy_bundle,
    overlay,
)
from policies.errors import PolicyDocumentError


@dataclass(frozen=True)
class StubPolicy:
    kind: str
    doc: Mapping[str, Any]


def stub_parser(kind: str) -> Callable[[Mapping[str, Any], str], Any]:
    def parse(doc: Mapping[str, Any], source: str) -> StubPolicy:
        if kind not in doc:
            raise PolicyDocumentError(source, kind, "missing")
        return StubPolicy(kind, doc)

    return parse


@pytest.fixture
def stub_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    """pii/output parsers belong to other modules; these tests are about loading, not their content."""
    monkeypatch.setitem(bundle_module._PARSERS, "pii", stub_parser("pii"))
    monkeypatch.setitem(bundle_module._PARSERS, "output", stub_parser("output"))


@pytest.fixture
def dirs(tmp_path: Path, stub_parsers: None) -> tuple[Path, Path]:
    default, site = tmp_path / "default", tmp_path / "site"
    default.mkdir()
    site.mkdir()
    shutil.copy(DEFAULT_POLICY_DIR / "roles.yaml", default / "roles.yaml")
    (default / "pii.yaml").write_text("pii:\n  profiles: {default: {}}\n")
    (default / "output.yaml").write_text("output:\n  rules: []\n")
    return default, site


def test_overlay_merges_mappings_replaces_lists_and_null_removes() -> None:
    base: dict[str, Any] = {
        "roles": {"a": {"permissions": ["chat"], "requests_per_minute": 5}, "b": {"permissions": []}}
    }
    site = {"roles": {"a": {"requests_per_minute": 9}, "b": None, "c": {"permissions": ["chat"]}}}
    assert overlay(base, site) == {
        "roles": {"a": {"permissions": ["chat"], "requests_per_minute": 9}, "c": {"permissions": ["chat"]}}
    }
    assert overlay({"x": {"l": [1, 2]}}, {"x": {"l": [3]}}) == {"x": {"l": [3]}}
    assert base["roles"]["a"]["requests_per_minute"] == 5  # inputs untouched


def test_site_file_overlays_default_roles(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    (site / "roles.yaml").write_text(
        "roles:\n  service:\n    requests_per_minute: 1200\n  dpo: null\n"
        "  nurse:\n    permissions: [chat]\n    require_subject: true\n"
    )
    bundle = load_policy_bundle(default, site)
    roles = bundle.rbac.roles
    assert roles["service"].requests_per_minute == 1200
    assert roles["service"].permissions == frozenset({"chat", "completions", "models:list"})
    assert "dpo" not in roles
    assert roles["nurse"].require_subject
    assert bundle.sources == (
        "default/roles.yaml",
        "site/roles.yaml",
        "default/pii.yaml",
        "default/output.yaml",
    )


def test_removing_a_role_others_may_grant_is_an_error(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    (site / "roles.yaml").write_text("roles:\n  analyst: null\n")
    with pytest.raises(PolicyDocumentError) as exc:
        load_policy_bundle(default, site)
    assert exc.value.key == "roles.admin.grantable_roles[1]"


def test_digest_changes_with_any_loaded_byte_and_is_stable(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    first = load_policy_bundle(default, site).digest
    assert load_policy_bundle(default, site).digest == first
    (site / "output.yaml").write_text("output:\n  rules: [] \n")
    assert load_policy_bundle(default, site).digest != first


def test_missing_document_is_an_error(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    (default / "output.yaml").unlink()
    with pytest.raises(PolicyDocumentError) as exc:
        load_policy_bundle(default, site)
    assert exc.value.key == "output.yaml"


def test_role_naming_an_undefined_pii_profile_is_rejected(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    default, site = dirs

    @dataclass(frozen=True)
    class WithProfiles:
        profiles: Mapping[str, object]

    monkeypatch.setitem(
        bundle_module._PARSERS, "pii", lambda doc, source: WithProfiles(doc["pii"]["profiles"])
    )
    (site / "roles.yaml").write_text("roles:\n  clinician:\n    pii_profile: clinical\n")
    with pytest.raises(PolicyDocumentError) as exc:
        load_policy_bundle(default, site)
    assert exc.value.key == "roles.clinician.pii_profile"


def test_site_roles_still_setting_output_profile_fail_to_load(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    (site / "roles.yaml").write_text("roles:\n  service:\n    output_profile: strict\n")
    with pytest.raises(PolicyDocumentError) as exc:
        load_policy_bundle(default, site)
    assert exc.value.key == "roles.service.output_profile"
    assert "unknown field" in exc.value.reason
    assert "roles.service.output_profile" in check_policy_file(site / "roles.yaml")[0]


def test_invalid_yaml_error_gives_position_not_content(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    (site / "roles.yaml").write_text("roles:\n  service: [unclosed SECRET-VALUE\n")
    with pytest.raises(PolicyDocumentError) as exc:
        load_policy_bundle(default, site)
    assert "line" in exc.value.reason
    assert "SECRET-VALUE" not in str(exc.value)


def test_holder_reload_keeps_the_good_bundle_when_the_new_one_is_bad(dirs: tuple[Path, Path]) -> None:
    default, site = dirs
    holder = PolicyHolder(default, site)
    good = holder.current
    (site / "roles.yaml").write_text("roles:\n  service:\n    permissions: [chat, fly]\n")
    with pytest.raises(PolicyDocumentError) as exc:
        holder.reload()
    assert exc.value.key == "roles.service.permissions[1]"
    assert holder.current is good
    (site / "roles.yaml").write_text("roles:\n  service:\n    requests_per_minute: 7\n")
    new = holder.reload()
    assert holder.current is new and holder.previous is good
    assert new.rbac.roles["service"].requests_per_minute == 7
    assert new.digest != good.digest


def test_holder_keeps_the_good_bundle_when_a_parser_crashes(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    default, site = dirs
    holder = PolicyHolder(default, site)
    good = holder.current

    def crash(doc: Mapping[str, Any], source: str) -> Any:
        raise KeyError("boom")

    monkeypatch.setitem(bundle_module._PARSERS, "output", crash)
    with pytest.raises(PolicyDocumentError) as exc:
        holder.reload()
    assert "KeyError" in exc.value.reason
    assert holder.current is good


def test_check_policy_file_reports_errors_and_accepts_overlays(tmp_path: Path) -> None:
    good = tmp_path / "roles.yaml"
    good.write_text("roles:\n  service:\n    requests_per_minute: 10\n")
    assert check_policy_file(good) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles:\n  service:\n    permissions: [chat, teleport]\n")
    errors = check_policy_file(bad)
    assert len(errors) == 1 and "roles.service.permissions[1]" in errors[0]
    # Standalone, the overlay lacks the permissions of the role it adjusts.
    assert check_policy_file(good, default_dir=None) != []


def test_check_policy_file_needs_exactly_one_known_top_level_key(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("something: 1\n")
    assert "expected exactly one top-level key" in check_policy_file(path)[0]
    path.write_text("roles: {}\npii: {}\n")
    assert "found roles, pii" in check_policy_file(path)[0]
    assert "cannot read" in check_policy_file(tmp_path / "absent.yaml")[0]


def test_shipped_defaults_load_with_the_real_parsers() -> None:
    pytest.importorskip("policies.pii.config")
    pytest.importorskip("policies.output.config")
    bundle = load_policy_bundle(DEFAULT_POLICY_DIR, None)
    assert set(bundle.rbac.roles) == {"clinician", "analyst", "service", "auditor", "dpo", "admin"}
    assert len(bundle.digest) == 64
    for name in ("roles.yaml", "pii.yaml", "output.yaml"):
        assert check_policy_file(DEFAULT_POLICY_DIR / name) == []
