"""Deny by default, proven over the whole route table and every default role.

The matrix is generated from the app's routes and the shipped policy: adding a route without a
declared permission, or with a permission no policy rule mentions, fails this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from gateway.app import create_app, route_table
from gateway.guards import PUBLIC
from gateway.settings import load_settings
from policies.bundle import DEFAULT_POLICY_DIR, load_policy_bundle
from policies.rbac import PERMISSIONS
from tests.conftest import Simulator, start_simulator, stop

ROLES = ["clinician", "analyst", "service", "auditor", "dpo", "admin"]
POLICY = load_policy_bundle(DEFAULT_POLICY_DIR, None).rbac


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator()
    yield simulator
    stop(simulator.proc)


@pytest.fixture(scope="module")
def app_client(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("matrix")
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir), "engine": {"urls": [sim.url]}})
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def role_keys(app_client: TestClient) -> dict[str, str]:
    services = app_client.app.state.services
    keys: dict[str, str] = {}

    async def make() -> None:
        for role in ROLES:
            _, plaintext = await services.keys.create(f"matrix-{role}", [role])
            keys[role] = plaintext

    app_client.blocking_portal.call(make)
    return keys


def test_every_route_declares_a_known_permission() -> None:
    settings = load_settings(environ={}, overrides={"engine": {"urls": ["http://127.0.0.1:1"]}})
    app = create_app(settings)
    rows = [row for row in route_table(app) if row[1] != "OPTIONS"]  # Litestar's own, denied below
    assert rows, "the route table is empty"
    for path, method, handler in rows:
        permission = handler.opt.get("permission")
        assert permission is not None, f"{method} {path} declares no permission"
        assert permission == PUBLIC or permission in PERMISSIONS, f"{method} {path}: unknown {permission!r}"
    public = {(path, method) for path, method, handler in rows if handler.opt["permission"] == PUBLIC}
    assert public == {("/healthz", "GET"), ("/readyz", "GET")}
    schema = {(path, h.opt["permission"]) for path, _method, h in rows if path.startswith("/schema")}
    assert {path for path, _ in schema} >= {"/schema", "/schema/openapi.json"}
    assert {permission for _, permission in schema} == {"openapi:read"}


def test_route_without_permission_is_refused(tmp_path: Path, sim: Simulator) -> None:
    from litestar import get

    @get("/undeclared")
    async def undeclared() -> dict[str, str]:
        return {"leak": "yes"}

    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path), "engine": {"urls": [sim.url]}})
    app = create_app(settings)
    app.register(undeclared)
    with TestClient(app) as client:
        response = client.get("/undeclared")
        assert response.status_code == 403
        assert "leak" not in response.text


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _matrix() -> list[tuple[str, str, str, str]]:
    settings = load_settings(environ={}, overrides={"engine": {"urls": ["http://127.0.0.1:1"]}})
    rows = [row for row in route_table(create_app(settings)) if row[1] != "OPTIONS"]
    return [
        (role, path, method, handler.opt["permission"])
        for path, method, handler in rows
        for role in ROLES
        if handler.opt["permission"] != PUBLIC
    ]


@pytest.mark.parametrize(("role", "path", "method", "permission"), _matrix())
def test_authorization_matrix(
    app_client: TestClient, role_keys: dict[str, str], role: str, path: str, method: str, permission: str
) -> None:
    expected_allowed = permission in POLICY.roles[role].permissions
    response = app_client.request(
        method,
        _concrete(path),
        headers={"Authorization": f"Bearer {role_keys[role]}"},
        content=msgspec.json.encode({}) if method == "POST" else None,
    )
    if expected_allowed:
        assert response.status_code not in (401, 403), f"{role} {method} {path}: {response.text}"
    else:
        assert response.status_code == 403, f"{role} {method} {path} should be denied: {response.status_code}"
        assert response.json()["error"]["type"] == "permission_error"


def test_litestar_generated_options_routes_are_denied(
    app_client: TestClient, role_keys: dict[str, str]
) -> None:
    for role in ROLES:
        response = app_client.options(
            "/v1/chat/completions", headers={"Authorization": f"Bearer {role_keys[role]}"}
        )
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "method"), [("/v1/models", "GET"), ("/audit/verify", "GET"), ("/admin/keys", "GET")]
)
def test_no_credential_is_401_everywhere(app_client: TestClient, path: str, method: str) -> None:
    assert app_client.request(method, path).status_code == 401


def test_separation_of_duties_in_default_roles() -> None:
    roles = POLICY.roles
    assert "audit:read_content" not in roles["admin"].permissions
    assert "dsr:erase" not in roles["admin"].permissions
    assert "chat" not in roles["auditor"].permissions
    assert "policy:reload" not in roles["auditor"].permissions
    assert "policy:reload" not in roles["dpo"].permissions
    assert "pii:unmask" not in roles["service"].permissions


DSR_ROUTE_PERMISSIONS = {
    ("/admin/retention/run", "POST"): "retention:run",
    ("/dsr/subjects/{subject_id:str}/export", "GET"): "dsr:export",
    ("/dsr/find", "POST"): "dsr:export",
    ("/dsr/subjects/{subject_id:str}", "DELETE"): "dsr:erase",
    ("/dsr/records/erase", "POST"): "dsr:erase",
    ("/dsr/holds", "POST"): "dsr:hold",
    ("/dsr/holds", "GET"): "dsr:hold",
    ("/dsr/holds/{hold_id:str}", "DELETE"): "dsr:hold",
}


def test_data_subject_and_retention_routes_declare_their_permissions() -> None:
    settings = load_settings(environ={}, overrides={"engine": {"urls": ["http://127.0.0.1:1"]}})
    declared = {
        (path, method): handler.opt.get("permission")
        for path, method, handler in route_table(create_app(settings))
        if method != "OPTIONS" and (path.startswith("/dsr") or path.startswith("/admin/retention"))
    }
    assert declared == DSR_ROUTE_PERMISSIONS
    # Only dpo may export, erase and hold; only admin runs retention.
    for permission in ("dsr:export", "dsr:erase", "dsr:hold"):
        assert [role for role in ROLES if permission in POLICY.roles[role].permissions] == ["dpo"]
    assert [role for role in ROLES if "retention:run" in POLICY.roles[role].permissions] == ["admin"]
