"""Tenants are sealed, by one rule, on every route: a table over caller tenant x object tenant x route.

A credential bound to a tenant reads and changes only that tenant's objects; objects with no tenant
belong to credentials with no tenant binding, which reach everything. Each row runs against a real
gateway process; the objects are real audit records and API keys of tenants t1, t2 and none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import (
    MODEL,
    Gateway,
    Simulator,
    start_gateway,
    start_simulator,
    stop,
    store_create_keys,
)

pytestmark = pytest.mark.e2e

KEY_ENV = {"GATEWAY_AUTH__KEY_CACHE_TTL_S": "0"}
CALLERS = [None, "t1"]
OWNERS = ["t1", "t2", None]
TABLE = [(caller, owner) for caller in CALLERS for owner in OWNERS]


def _allowed(caller: str | None, owner: str | None) -> bool:
    return caller is None or caller == owner


def _id(value: Any) -> str:
    return "none" if value is None else str(value)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class World:
    """One gateway with auditors, admins and service keys of each tenant, and their chat records."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        specs: dict[str, dict[str, object]] = {}
        for caller in CALLERS:
            specs[f"auditor:{_id(caller)}"] = {"roles": ["auditor"], "tenant": caller}
            specs[f"admin:{_id(caller)}"] = {"roles": ["admin"], "tenant": caller}
        for owner in OWNERS:
            specs[f"service:{_id(owner)}"] = {"roles": ["service"], "tenant": owner}
        self.keys = store_create_keys(gw.data_dir, specs, KEY_ENV)
        self.request_of: dict[str | None, str] = {}
        for owner in OWNERS:
            response = self.post(
                "/v1/chat/completions",
                f"service:{_id(owner)}",
                {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": f"hello from tenant {_id(owner)}"}],
                },
            )
            assert response.status_code == 200, response.text
            self.request_of[owner] = response.headers["x-request-id"]
        self.records = self.list_records("auditor:none")
        self.seq_of = {
            owner: next(
                r["seq"]
                for r in self.records
                if r["kind"] == "chat.request" and r["request_id"] == self.request_of[owner]
            )
            for owner in OWNERS
        }
        assert {self.header(owner)["tenant"] for owner in OWNERS} == set(OWNERS)

    def key(self, label: str) -> str:
        return str(self.keys[label]["key"])

    def header(self, owner: str | None) -> dict[str, Any]:
        return next(r for r in self.records if r["request_id"] == self.request_of[owner])

    def get(self, path: str, label: str, **params: Any) -> httpx.Response:
        return httpx.get(self.gw.url + path, headers=_auth(self.key(label)), params=params, timeout=30)

    def post(self, path: str, label: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(self.gw.url + path, headers=_auth(self.key(label)), json=body or {}, timeout=60)

    def list_records(self, label: str, **params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
            response = self.get("/audit/records", label, **query)
            assert response.status_code == 200, response.text
            records.extend(response.json()["data"])
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return records

    def fresh_key(self, owner: str | None) -> dict[str, object]:
        """A service key of ``owner`` that no other test touches (rotate and revoke change keys)."""
        label = f"victim:{_id(owner)}"
        return store_create_keys(self.gw.data_dir, {label: {"roles": ["service"], "tenant": owner}}, KEY_ENV)[
            label
        ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sim: Simulator = start_simulator()
    gw = start_gateway(tmp_path_factory.mktemp("gw-tenants"), sim.url, KEY_ENV)
    try:
        yield World(gw)
    finally:
        stop(gw.proc)
        stop(sim.proc)


def _refused_for_tenant(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "tenant_mismatch"


# ----------------------------------------------------------------------------- audit records


@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_records_list_shows_exactly_the_callers_objects(
    world: World, caller: str | None, owner: str | None
) -> None:
    seqs = {r["seq"] for r in world.list_records(f"auditor:{_id(caller)}")}
    assert (world.seq_of[owner] in seqs) is _allowed(caller, owner)


@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_record_by_seq_with_content_follows_the_rule(
    world: World, caller: str | None, owner: str | None
) -> None:
    response = world.get(f"/audit/records/{world.seq_of[owner]}", f"auditor:{_id(caller)}")
    if _allowed(caller, owner):
        assert response.status_code == 200, response.text
        assert response.json()["content_status"] == "ok"
    else:
        _refused_for_tenant(response)
        assert "pseudonyms" not in response.text and "hello from tenant" not in response.text


@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_export_with_content_holds_only_the_callers_records(
    world: World, caller: str | None, owner: str | None
) -> None:
    response = world.post("/audit/export", f"auditor:{_id(caller)}", {"with_content": True})
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.content.splitlines() if line.strip()]
    records = {e["record"]["seq"]: e for e in lines if e.get("type") == "record"}
    seq = world.seq_of[owner]
    if _allowed(caller, owner):
        assert seq in records and records[seq]["content_status"] == "ok"
        assert f"hello from tenant {_id(owner)}" in response.text
    else:
        assert seq not in records
        # Not even the header of another tenant's record: only an opaque link of the chain.
        assert f"hello from tenant {_id(owner)}" not in response.text
        assert world.request_of[owner] not in response.text
        assert str(world.keys[f"service:{_id(owner)}"]["id"]) not in response.text


def test_export_leaves_no_decrypted_copy_at_rest(world: World) -> None:
    response = world.post("/audit/export", "auditor:none", {"with_content": True})
    assert response.status_code == 200, response.text
    exports = world.gw.data_dir / "exports"
    assert not exports.exists() or not any(exports.iterdir())


@pytest.mark.parametrize("owner", ["t2", "t1"], ids=_id)
def test_records_filter_naming_another_tenant_is_refused(world: World, owner: str) -> None:
    response = world.get("/audit/records", "auditor:t1", tenant=owner)
    if _allowed("t1", owner):
        assert response.status_code == 200
        assert {r["tenant"] for r in response.json()["data"]} == {"t1"}
    else:
        _refused_for_tenant(response)


def test_tenant_bound_verify_reports_only_whether_the_log_is_intact(world: World) -> None:
    scoped = world.get("/audit/verify", "auditor:t1")
    assert scoped.status_code == 200, scoped.text
    assert scoped.json() == {"ok": True, "scope": "tenant", "first_bad_seq": None, "reason": None}
    full = world.get("/audit/verify", "auditor:none").json()
    assert full["ok"] is True and full["head_seq"] >= max(world.seq_of.values())


# ----------------------------------------------------------------------------- API keys and policy


@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_keys_list_shows_exactly_the_callers_keys(
    world: World, caller: str | None, owner: str | None
) -> None:
    response = world.get("/admin/keys", f"admin:{_id(caller)}", limit=500)
    assert response.status_code == 200, response.text
    listed = {k["id"] for k in response.json()["data"]}
    assert (world.keys[f"service:{_id(owner)}"]["id"] in listed) is _allowed(caller, owner)
    if caller is not None:
        assert {k["tenant"] for k in response.json()["data"]} == {caller}


@pytest.mark.parametrize("action", ["rotate", "revoke"])
@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_key_rotate_and_revoke_follow_the_rule(
    world: World, caller: str | None, owner: str | None, action: str
) -> None:
    victim = world.fresh_key(owner)
    response = world.post(f"/admin/keys/{victim['id']}/{action}", f"admin:{_id(caller)}")
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "still me?"}]}
    still_works = httpx.post(
        world.gw.url + "/v1/chat/completions", headers=_auth(str(victim["key"])), json=chat, timeout=60
    )
    if _allowed(caller, owner):
        assert response.status_code == 200, response.text
        if action == "revoke":
            assert still_works.status_code == 401
        return
    _refused_for_tenant(response)
    assert "key" not in response.json(), "no new secret for another tenant's key"
    assert still_works.status_code == 200, "the refused change did not happen"


@pytest.mark.parametrize(("caller", "owner"), TABLE, ids=lambda v: _id(v))
def test_key_create_for_a_tenant_follows_the_rule(
    world: World, caller: str | None, owner: str | None
) -> None:
    spec: dict[str, Any] = {"name": "created", "roles": ["service"], "tenant": owner}
    response = world.post("/admin/keys", f"admin:{_id(caller)}", spec)
    if owner is None and caller is not None:
        # Naming no tenant means the caller's own: a tenant-bound admin can never mint a global key.
        assert response.status_code == 201, response.text
        assert response.json()["tenant"] == caller
    elif _allowed(caller, owner):
        assert response.status_code == 201, response.text
        assert response.json()["tenant"] == owner
    else:
        _refused_for_tenant(response)


@pytest.mark.parametrize("caller", CALLERS, ids=_id)
def test_policy_reload_belongs_to_unbound_admins(world: World, caller: str | None) -> None:
    response = world.post("/admin/policies/reload", f"admin:{_id(caller)}")
    if _allowed(caller, None):
        assert response.status_code == 200, response.text
    else:
        _refused_for_tenant(response)


def test_refused_cross_tenant_attempts_are_audited_with_the_reason(world: World) -> None:
    victim = world.fresh_key("t2")
    _refused_for_tenant(world.post(f"/admin/keys/{victim['id']}/rotate", "admin:t1"))
    denials = world.list_records("auditor:none", kind="authz.denied")
    admin_t1 = world.keys["admin:t1"]["id"]
    assert any(r["principal"] == admin_t1 for r in denials)
    last = max((r for r in denials if r["principal"] == admin_t1), key=lambda r: r["seq"])
    content = world.get(f"/audit/records/{last['seq']}", "auditor:none").json()["content"]
    assert content["reason"] == "tenant_mismatch"


# ----------------------------------------------------------------------------- one 401 for every reason


def test_unknown_revoked_and_expired_keys_get_the_same_401_and_the_reason_is_audited(world: World) -> None:
    from datetime import timedelta

    made = store_create_keys(
        world.gw.data_dir,
        {
            "revoked": {"roles": ["service"]},
            "expired": {"roles": ["service"], "expires_in": timedelta(microseconds=1)},
        },
        KEY_ENV,
    )
    assert world.post(f"/admin/keys/{made['revoked']['id']}/revoke", "admin:none").status_code == 200
    unknown = "gw_zzzzzzzz_" + "A" * 43
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    bodies = []
    for key in (unknown, str(made["revoked"]["key"]), str(made["expired"]["key"])):
        response = httpx.post(
            world.gw.url + "/v1/chat/completions", headers=_auth(key), json=chat, timeout=30
        )
        assert response.status_code == 401
        bodies.append(response.json())
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["error"]["code"] == "invalid_api_key"
    failures = world.list_records("auditor:none", kind="auth.failure")
    reasons = {
        world.get(f"/audit/records/{r['seq']}", "auditor:none").json()["content"]["reason"]
        for r in failures[-3:]
    }
    assert {"revoked", "expired"} <= reasons
