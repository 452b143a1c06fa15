"""Identity and access control through the real gateway process (issue 3).

API keys managed by the ``gateway keys`` CLI against a running gateway that shares the data
directory, the same operations over ``/admin/keys``, the key store never holding a usable key,
OIDC bearer tokens checked against a JWKS file, atomic policy reload (HTTP and SIGHUP), rate
limits and quotas (in memory and shared through Redis), and separation of duties over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.conftest import MODEL, Gateway, Simulator, gateway_cli, start_gateway, start_simulator, stop

pytestmark = pytest.mark.e2e

OTHER_MODEL = "other-vendor/other-model"
ISSUER = "https://idp.test.invalid/realms/e2e"
AUDIENCE = "gateway-e2e"
# Long enough that no load on the test machine can use it up between a rotation and the next
# request; tests end it by moving the stored deadline (see _end_rotation_grace), never by sleeping.
GRACE_S = 3600
# Shared by the gateway process and every CLI call, as a shared config file would be: the
# rotation grace is decided by whoever rotates (CLI or gateway), so both must agree.
KEY_ENV = {"GATEWAY_AUTH__KEY_CACHE_TTL_S": "0", "GATEWAY_AUTH__KEY_ROTATE_GRACE_S": str(GRACE_S)}
SITE_ROLES_INITIAL = "version: 1\nroles:\n  analyst:\n    description: Site analysts (e2e overlay)\n"

#: Every plaintext key this module was shown; none may ever be found in the data directory.
ISSUED: list[str] = []


# ----------------------------------------------------------------------------- helpers

#: Every HTTP call's limit: generous, so a loaded test machine is slow, never a failure.
HTTP_TIMEOUT_S = 120.0


def _get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, timeout=HTTP_TIMEOUT_S, **kwargs)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, timeout=HTTP_TIMEOUT_S, **kwargs)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _chat(gw: Gateway, key: str, model: str = MODEL, content: str = "hello access") -> httpx.Response:
    return _post(
        gw.url + "/v1/chat/completions",
        headers=_auth(key),
        json={"model": model, "messages": [{"role": "user", "content": content}]},
    )


def _models(gw: Gateway, key: str) -> list[str]:
    response = _get(gw.url + "/v1/models", headers=_auth(key))
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


def _error(response: httpx.Response, status: int, error_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["message"]
    if error_type is not None:
        assert error["type"] == error_type, error
    return error


def _cli(gw: Gateway, *args: str) -> str:
    result = gateway_cli(*args, data_dir=gw.data_dir, env=KEY_ENV)
    assert result.returncode == 0, f"gateway {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _cli_create(gw: Gateway, name: str, *options: str) -> dict[str, Any]:
    out = _cli(gw, "keys", "create", "--name", name, *options, "--json")
    created = json.loads(out)  # exactly one JSON object on stdout
    assert isinstance(created, dict) and created["id"] and created["key"].startswith("gw_")
    ISSUED.append(created["key"])
    return created


def _cli_create_many(gw: Gateway, specs: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            label: pool.submit(_cli_create, gw, f"e2e-{label}", *opts) for label, opts in specs.items()
        }
        return {label: future.result() for label, future in futures.items()}


def _store_create(gw: Gateway, specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keys made in-process through the gateway's KeyStore on the shared data directory (fast setup)."""
    from gateway.services import create_db_engine, open_key_store
    from gateway.settings import load_settings

    async def make() -> dict[str, dict[str, Any]]:
        settings = load_settings(environ=KEY_ENV, overrides={"data_dir": str(gw.data_dir)})
        db = create_db_engine(settings)
        try:
            store = await open_key_store(settings, db)
            out = {}
            for label, spec in specs.items():
                record, plaintext = await store.create(f"e2e-{label}", **spec)
                out[label] = {**record.to_dict(), "key": plaintext}
                ISSUED.append(plaintext)
            return out
        finally:
            await db.dispose()

    return asyncio.run(make())


def _http_create(gw: Gateway, admin_key: str, **spec: Any) -> dict[str, Any]:
    response = _post(gw.url + "/admin/keys", headers=_auth(admin_key), json=spec)
    assert response.status_code == 201, response.text
    created = response.json()
    ISSUED.append(created["key"])
    return created


def _assert_grace_deadline(rotated: dict[str, Any], before: datetime, after: datetime) -> None:
    """The previous secret's deadline is the rotation time (between ``before`` and ``after``) + GRACE_S."""
    until = datetime.fromisoformat(rotated["previous_valid_until"])
    grace, slack = timedelta(seconds=GRACE_S), timedelta(seconds=1)
    assert before + grace - slack <= until <= after + grace + slack


def _end_rotation_grace(gw: Gateway, key_id: str) -> None:
    """Move a rotated key's previous-secret deadline into the past, as if the grace had passed."""
    with sqlite3.connect(gw.data_dir / "gateway.db", timeout=10) as conn:
        changed = conn.execute(
            "UPDATE gateway_api_keys SET previous_valid_until = ? "
            "WHERE id = ? AND previous_key_hash IS NOT NULL",
            ("2000-01-01 00:00:00.000000", key_id),
        ).rowcount
    assert changed == 1


def _secret_of(key: str) -> str:
    # gw_<prefix>_<secret>; the secret (base64url) may itself contain "_".
    return key.split("_", 2)[2]


def _audit_records(gw: Gateway, key: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        response = _get(gw.url + "/audit/records", headers=_auth(key), params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        records.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return records


# ----------------------------------------------------------------------------- fixtures


@dataclass
class IdP:
    key: RSAKey
    jwks_path: Path

    def token(self, *, key: RSAKey | None = None, alg: str = "RS256", **claims: Any) -> str:
        signer = key or self.key
        return jwt.encode({"alg": alg, "kid": signer.kid}, _claims(**claims), signer, algorithms=[alg])


def _claims(**over: Any) -> dict[str, Any]:
    # The gateway process checks tokens against its own clock: times come from the moment the
    # token is made (never from test collection), with a lifetime no slow run can use up.
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "e2e-user-0001",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "realm_access": {"roles": ["service"]},
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = start_simulator()
    yield simulator
    stop(simulator.proc)


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> IdP:
    key = RSAKey.generate_key(2048, parameters={"kid": "e2e-idp-1"})
    path = tmp_path_factory.mktemp("idp") / "jwks.json"
    path.write_text(json.dumps(KeySet([key]).as_dict(private=False)))
    return IdP(key, path)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    (site / "roles.yaml").write_text(SITE_ROLES_INITIAL)
    return site


@pytest.fixture(scope="module")
def gw(
    sim: Simulator, idp: IdP, site_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    env = {
        **KEY_ENV,
        # A second model name, so that model allow-lists have something to tell apart.
        "GATEWAY_ENGINE__MODEL_ALIASES": f"{OTHER_MODEL}={MODEL}",
        "GATEWAY_AUTH__JWT_JWKS_FILE": str(idp.jwks_path),
        "GATEWAY_AUTH__JWT_ISSUER": ISSUER,
        "GATEWAY_AUTH__JWT_AUDIENCE": AUDIENCE,
    }
    gateway = start_gateway(tmp_path_factory.mktemp("gw-access"), sim.url, env, "--policy-dir", str(site_dir))
    yield gateway
    stop(gateway.proc)


@pytest.fixture(scope="module")
def keys(gw: Gateway) -> dict[str, dict[str, Any]]:
    """Keys only an operator on the host may issue (auditor, dpo, admin), plus a tenant-bound auditor."""
    return _store_create(
        gw,
        {
            "admin": {"roles": ["admin"]},
            "auditor": {"roles": ["auditor"]},
            "auditor_t1": {"roles": ["auditor"], "tenant": "t1"},
            "dpo": {"roles": ["dpo"]},
        },
    )


@pytest.fixture(scope="module")
def admin(keys: dict[str, dict[str, Any]]) -> str:
    return str(keys["admin"]["key"])


# ----------------------------------------------------------------------------- API keys: CLI


def test_cli_key_works_until_revoked_then_gets_401(gw: Gateway) -> None:
    created = _cli_create(gw, "cli-revoke", "--role", "service", "--expires", "90d")
    assert created["roles"] == ["service"] and created["status"] == "active"
    assert created["expires_at"] is not None
    assert _chat(gw, created["key"]).status_code == 200

    _cli(gw, "keys", "revoke", created["id"])
    _error(_chat(gw, created["key"]), 401, "authentication_error")
    _error(_get(gw.url + "/v1/models", headers=_auth(created["key"])), 401, "authentication_error")


def test_cli_rotation_new_secret_works_old_one_only_during_grace(gw: Gateway) -> None:
    created = _cli_create(gw, "cli-rotate", "--role", "service")
    old = created["key"]
    assert _chat(gw, old).status_code == 200

    before = datetime.now(UTC)
    rotated = json.loads(_cli(gw, "keys", "rotate", created["id"], "--json"))
    after = datetime.now(UTC)
    new = rotated["key"]
    ISSUED.append(new)
    assert rotated["id"] == created["id"] and rotated["prefix"] == created["prefix"]
    assert new != old and new.startswith(f"gw_{created['prefix']}_")
    _assert_grace_deadline(rotated, before, after)  # the CLI used the shared configuration

    assert _chat(gw, new).status_code == 200
    assert _chat(gw, old).status_code == 200, "the old secret must work during the grace period"
    _end_rotation_grace(gw, created["id"])
    _error(_chat(gw, old), 401, "authentication_error")
    assert _chat(gw, new).status_code == 200


def test_expired_key_gets_401(gw: Gateway) -> None:
    created = _store_create(gw, {"expire": {"roles": ["service"], "expires_in": timedelta(days=1)}})["expire"]
    assert _chat(gw, created["key"]).status_code == 200
    # Make the key expired in the shared database, as if a day had passed.
    with sqlite3.connect(gw.data_dir / "gateway.db", timeout=10) as conn:
        changed = conn.execute(
            "UPDATE gateway_api_keys SET expires_at = ? WHERE id = ?",
            ("2000-01-01 00:00:00.000000", created["id"]),
        ).rowcount
    assert changed == 1
    _error(_chat(gw, created["key"]), 401, "authentication_error")


def test_key_model_allow_list_limits_chat_and_model_listing(gw: Gateway, sim: Simulator) -> None:
    made = _cli_create_many(
        gw,
        {
            "only-served": ("--role", "service", "--models", MODEL),
            "only-others": ("--role", "service", "--models", f"{OTHER_MODEL},other-vendor/third"),
        },
    )
    only_served, only_others = made["only-served"]["key"], made["only-others"]["key"]
    assert made["only-others"]["models"] == [OTHER_MODEL, "other-vendor/third"]

    assert _chat(gw, only_served).status_code == 200
    assert _models(gw, only_served) == [MODEL]

    sim.clear()
    error = _error(_chat(gw, only_served, model=OTHER_MODEL), 403, "permission_error")
    assert error["code"] == "model_not_allowed"
    error = _error(_chat(gw, only_others, model=MODEL), 403, "permission_error")
    assert error["code"] == "model_not_allowed"
    assert sim.requests() == [], "a refused request must not reach the engine"
    assert _models(gw, only_others) == [OTHER_MODEL]
    # The allow-list names what the caller asks for; the engine gets the name it serves.
    assert _chat(gw, only_others, model=OTHER_MODEL).status_code == 200
    assert [r["model"] for r in sim.requests()] == [MODEL]
    _error(_chat(gw, only_others, model="other-vendor/third"), 404)  # allowed, but not served


def test_keys_list_shows_states_and_never_a_secret(
    gw: Gateway, admin: str, keys: dict[str, dict[str, Any]]
) -> None:
    revoked = _http_create(gw, admin, name="list-revoked", roles=["service"])
    rotated = _http_create(gw, admin, name="list-rotated", roles=["service"])
    expired = _http_create(gw, admin, name="list-expired", roles=["service"], expires_in_days=1)
    assert _post(gw.url + f"/admin/keys/{revoked['id']}/revoke", headers=_auth(admin)).status_code == 200
    response = _post(gw.url + f"/admin/keys/{rotated['id']}/rotate", headers=_auth(admin))
    assert response.status_code == 200
    ISSUED.append(response.json()["key"])
    with sqlite3.connect(gw.data_dir / "gateway.db", timeout=10) as conn:
        conn.execute(
            "UPDATE gateway_api_keys SET expires_at = ? WHERE id = ?",
            ("2000-01-01 00:00:00.000000", expired["id"]),
        )

    listing = json.loads(_cli(gw, "keys", "list", "--json"))
    assert set(listing) == {"data", "next_cursor"}
    by_id = {row["id"]: row for row in listing["data"]}
    assert by_id[revoked["id"]]["status"] == "revoked"
    assert by_id[expired["id"]]["status"] == "expired"
    assert by_id[rotated["id"]]["status"] == "active"
    assert by_id[rotated["id"]]["rotated_at"] is not None
    assert by_id[keys["admin"]["id"]]["roles"] == ["admin"]
    for row in listing["data"]:
        assert not {"key", "key_hash", "previous_key_hash", "secret"} & set(row), row
    text = _cli(gw, "keys", "list")
    assert revoked["id"] in text and f"gw_{revoked['prefix']}_" in text
    assert ISSUED
    for out in (json.dumps(listing), text):
        for key in ISSUED:
            assert key not in out and _secret_of(key) not in out


# ----------------------------------------------------------------------------- API keys: HTTP


def test_admin_http_create_returns_the_plaintext_once_and_the_key_works(gw: Gateway, admin: str) -> None:
    created = _http_create(gw, admin, name="http-service", roles=["service"], expires_in_days=30, tenant="t9")
    assert created["roles"] == ["service"] and created["tenant"] == "t9"
    assert created["key"].startswith(f"gw_{created['prefix']}_")
    assert _chat(gw, created["key"]).status_code == 200

    listing = _get(gw.url + "/admin/keys", headers=_auth(admin), params={"limit": 500}).json()
    row = next(r for r in listing["data"] if r["id"] == created["id"])
    assert "key" not in row and row["status"] == "active"
    assert created["key"] not in json.dumps(listing)
    assert _secret_of(created["key"]) not in json.dumps(listing)


def test_admin_http_list_pages_with_limit_and_cursor(gw: Gateway, admin: str) -> None:
    for i in range(3):
        _http_create(gw, admin, name=f"http-page-{i}", roles=["analyst"])
    full = _get(gw.url + "/admin/keys", headers=_auth(admin), params={"limit": 500}).json()
    assert set(full) == {"data", "next_cursor"} and full["next_cursor"] is None
    all_ids = [row["id"] for row in full["data"]]
    assert len(all_ids) >= 4

    paged: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _get(gw.url + "/admin/keys", headers=_auth(admin), params=params).json()
        assert len(page["data"]) <= 2
        paged.extend(row["id"] for row in page["data"])
        for row in page["data"]:
            assert "key" not in row
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 100
    assert paged == all_ids, "paging must visit every key once, in creation order"
    assert pages >= 2


def test_admin_http_revoke_refuses_the_key_at_once(gw: Gateway, admin: str) -> None:
    created = _http_create(gw, admin, name="http-revoke", roles=["service"])
    assert _chat(gw, created["key"]).status_code == 200
    response = _post(gw.url + f"/admin/keys/{created['id']}/revoke", headers=_auth(admin))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked" and "key" not in response.json()
    _error(_chat(gw, created["key"]), 401, "authentication_error")
    _error(_post(gw.url + "/admin/keys/nosuchkey/revoke", headers=_auth(admin)), 404, "not_found_error")
    refused = _post(gw.url + f"/admin/keys/{created['id']}/rotate", headers=_auth(admin))
    assert refused.status_code in (400, 409), refused.text
    _error(_chat(gw, created["key"]), 401)


def test_admin_http_rotation_new_secret_works_old_one_only_during_grace(gw: Gateway, admin: str) -> None:
    created = _http_create(gw, admin, name="http-rotate", roles=["service"])
    before = datetime.now(UTC)
    response = _post(gw.url + f"/admin/keys/{created['id']}/rotate", headers=_auth(admin))
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    rotated = response.json()
    ISSUED.append(rotated["key"])
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    _assert_grace_deadline(rotated, before, after)

    assert _chat(gw, rotated["key"]).status_code == 200
    assert _chat(gw, created["key"]).status_code == 200
    _end_rotation_grace(gw, created["id"])
    _error(_chat(gw, created["key"]), 401, "authentication_error")
    assert _chat(gw, rotated["key"]).status_code == 200


def test_admin_may_not_issue_an_auditor_key_over_http(gw: Gateway, admin: str) -> None:
    before = _get(gw.url + "/admin/keys", headers=_auth(admin), params={"limit": 500}).json()["data"]
    for roles in (["auditor"], ["admin"], ["dpo"], ["service", "auditor"]):
        response = _post(
            gw.url + "/admin/keys", headers=_auth(admin), json={"name": "sneaky", "roles": roles}
        )
        # The product maps a PolicyViolation to 400 invalid_request_error (403 would also be fair).
        assert response.status_code in (400, 403), response.text
        error = _error(
            response,
            response.status_code,
            "invalid_request_error" if response.status_code == 400 else "permission_error",
        )
        assert error["code"] == "role_not_grantable", error
        assert "gw_" not in response.text
    after = _get(gw.url + "/admin/keys", headers=_auth(admin), params={"limit": 500}).json()["data"]
    assert [r["id"] for r in after] == [r["id"] for r in before], "no key may have been created"
    assert not any(r["name"] == "sneaky" for r in after)


def test_non_admins_may_not_manage_keys(gw: Gateway, admin: str, keys: dict[str, dict[str, Any]]) -> None:
    service = _http_create(gw, admin, name="http-not-admin", roles=["service"])["key"]
    for key in (service, keys["auditor"]["key"], keys["dpo"]["key"]):
        _error(_get(gw.url + "/admin/keys", headers=_auth(key)), 403, "permission_error")
        _error(
            _post(gw.url + "/admin/keys", headers=_auth(key), json={"name": "x", "roles": ["service"]}),
            403,
            "permission_error",
        )
        _error(
            _post(gw.url + f"/admin/keys/{keys['admin']['id']}/revoke", headers=_auth(key)),
            403,
            "permission_error",
        )
    _error(_get(gw.url + "/v1/models", headers=_auth(admin)), 403, "permission_error")
    assert _get(gw.url + "/admin/keys", headers=_auth(admin)).status_code == 200


# ----------------------------------------------------------------------------- OIDC / JWT


def test_valid_idp_token_with_service_role_can_chat(gw: Gateway, idp: IdP) -> None:
    response = _chat(gw, idp.token())
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "hello access"


def _bad_tokens(idp: IdP) -> dict[str, str]:
    good = idp.token()
    header, _payload, signature = good.split(".")
    stranger = RSAKey.generate_key(2048, parameters={"kid": "e2e-stranger"})
    pem = idp.key.as_pem(private=False)
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": idp.key.kid, "typ": "JWT"}).encode())
    hs_payload = _b64(json.dumps(_claims()).encode())
    hs_signature = _b64(hmac.new(pem, f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    tampered = _b64(json.dumps(_claims(realm_access={"roles": ["admin"]}, sub="e2e-admin")).encode())
    now = int(time.time())
    return {
        "wrong-issuer": idp.token(iss="https://evil.test.invalid/realms/e2e"),
        "wrong-audience": idp.token(aud="some-other-service"),
        "expired": idp.token(iat=now - 3600, nbf=now - 3600, exp=now - 600),
        "alg-none": f"{none_header}.{hs_payload}.",
        "hs256-with-public-pem": f"{hs_header}.{hs_payload}.{hs_signature}",
        "unknown-kid": idp.token(key=stranger),
        "tampered-payload": f"{header}.{tampered}.{signature}",
        "no-roles-claim": idp.token(realm_access=None),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong-issuer",
        "wrong-audience",
        "expired",
        "alg-none",
        "hs256-with-public-pem",
        "unknown-kid",
        "tampered-payload",
        "no-roles-claim",
        "garbage",
    ],
)
def test_forged_or_out_of_policy_tokens_get_401(gw: Gateway, idp: IdP, sim: Simulator, case: str) -> None:
    token = _bad_tokens(idp)[case]
    sim.clear()
    error = _error(_chat(gw, token), 401, "authentication_error")
    assert token not in error["message"]
    _error(_get(gw.url + "/v1/models", headers=_auth(token)), 401, "authentication_error")
    _error(_get(gw.url + "/admin/keys", headers=_auth(token)), 401, "authentication_error")
    assert sim.requests() == []


def test_token_whose_roles_are_all_unknown_is_refused(gw: Gateway, idp: IdP, sim: Simulator) -> None:
    # roles.yaml: "a credential whose roles are all unknown is refused" (authenticated, so 403).
    token = idp.token(realm_access={"roles": ["superuser", "offline_access"]})
    sim.clear()
    _error(_chat(gw, token), 403, "permission_error")
    _error(_get(gw.url + "/v1/models", headers=_auth(token)), 403, "permission_error")
    assert sim.requests() == []


def test_idp_role_grants_only_its_permissions(gw: Gateway, idp: IdP) -> None:
    auditor = idp.token(realm_access={"roles": ["auditor"]}, sub="e2e-auditor-0001")
    _error(_chat(gw, auditor), 403, "permission_error")
    assert _get(gw.url + "/audit/records", headers=_auth(auditor), params={"limit": 1}).status_code == 200
    service = idp.token()
    _error(_post(gw.url + "/admin/policies/reload", headers=_auth(service)), 403, "permission_error")


# ----------------------------------------------------------------------------- separation of duties


def test_separation_of_duties_over_http(gw: Gateway, admin: str, keys: dict[str, dict[str, Any]]) -> None:
    auditor, dpo = keys["auditor"]["key"], keys["dpo"]["key"]
    records = _audit_records(gw, auditor)
    assert records, "the CLI key operations are audit records"
    seq = records[0]["seq"]
    # The auditor can read the record with its content; the admin may not read records at all.
    view = _get(gw.url + f"/audit/records/{seq}", headers=_auth(auditor))
    assert view.status_code == 200, view.text
    assert view.json()["content_included"] is True
    _error(_get(gw.url + f"/audit/records/{seq}", headers=_auth(admin)), 403, "permission_error")
    _error(_get(gw.url + "/audit/records", headers=_auth(admin)), 403, "permission_error")
    # The admin may verify the chain's integrity (no content).
    assert _get(gw.url + "/audit/verify", headers=_auth(admin)).status_code == 200

    _error(_chat(gw, auditor), 403, "permission_error")
    _error(_chat(gw, admin), 403, "permission_error")
    _error(_chat(gw, dpo), 403, "permission_error")
    for key in (auditor, dpo):
        _error(_post(gw.url + "/admin/policies/reload", headers=_auth(key)), 403, "permission_error")


def test_tenant_bound_auditor_sees_only_its_tenant(
    gw: Gateway, admin: str, keys: dict[str, dict[str, Any]]
) -> None:
    t1 = _http_create(gw, admin, name="tenant-1-app", roles=["service"], tenant="t1")["key"]
    t2 = _http_create(gw, admin, name="tenant-2-app", roles=["service"], tenant="t2")["key"]
    for key in (t1, t2, t1, t2):
        assert _chat(gw, key).status_code == 200

    everything = _audit_records(gw, keys["auditor"]["key"])
    assert {"t1", "t2"} <= {r["tenant"] for r in everything}, "the global auditor sees every tenant"

    auditor_t1 = keys["auditor_t1"]["key"]
    mine = _audit_records(gw, auditor_t1)
    assert mine and {r["tenant"] for r in mine} == {"t1"}
    assert {"chat.request", "chat.response"} <= {r["kind"] for r in mine}
    assert {r["seq"] for r in mine} >= {r["seq"] for r in everything if r["tenant"] == "t1"}
    assert _audit_records(gw, auditor_t1, tenant="t1")
    _error(
        _get(gw.url + "/audit/records", headers=_auth(auditor_t1), params={"tenant": "t2"}),
        403,
        "permission_error",
    )
    t2_seq = next(r["seq"] for r in everything if r["tenant"] == "t2")
    _error(_get(gw.url + f"/audit/records/{t2_seq}", headers=_auth(auditor_t1)), 403, "permission_error")


# ----------------------------------------------------------------------------- policy reload


def _reload(gw: Gateway, key: str) -> httpx.Response:
    return _post(gw.url + "/admin/policies/reload", headers=_auth(key))


def test_policy_reload_is_atomic_and_audited(
    gw: Gateway, admin: str, keys: dict[str, dict[str, Any]], site_dir: Path
) -> None:
    roles_file = site_dir / "roles.yaml"
    analyst = _http_create(gw, admin, name="reload-analyst", roles=["analyst"])["key"]
    assert _models(gw, analyst) == [MODEL, OTHER_MODEL]
    assert _chat(gw, analyst).status_code == 200
    auditor = keys["auditor"]["key"]
    seen_before = {r["seq"] for r in _audit_records(gw, auditor, kind="policy.reload")}

    # 1. A broken document: refused with file, key and reason; its (valid-looking) change is not applied.
    roles_file.write_text("version: 1\nroles:\n  analyst:\n    models: ['nothing-*']\n    bogus_field: 1\n")
    error = _error(_reload(gw, admin), 400, "invalid_request_error")
    assert error["code"] == "invalid_policy"
    assert str(roles_file) in error["message"]
    assert "roles.analyst.bogus_field" in error["message"]
    assert "unknown field" in error["message"]
    assert _models(gw, analyst) == [MODEL, OTHER_MODEL], "the previous policy must stay in force"
    assert _chat(gw, analyst).status_code == 200

    # 2. A valid change takes effect after the reload.
    roles_file.write_text("version: 1\nroles:\n  analyst:\n    models: ['nothing-*']\n")
    response = _reload(gw, admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "reloaded" and body["digest"] != body["previous_digest"]
    _error(_chat(gw, analyst), 403, "permission_error")
    assert _models(gw, analyst) == []

    # 3. SIGHUP reloads too.
    roles_file.write_text(SITE_ROLES_INITIAL)
    os.kill(gw.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 120  # a bound for a hung reload, not a speed requirement
    while _models(gw, analyst) != [MODEL, OTHER_MODEL]:
        assert time.monotonic() < deadline, "SIGHUP did not reload the policy"
        time.sleep(0.1)
    assert _chat(gw, analyst).status_code == 200

    # 4. All three reloads are audit records, read back by an auditor.
    deadline = time.monotonic() + 120
    while True:
        new = [r for r in _audit_records(gw, auditor, kind="policy.reload") if r["seq"] not in seen_before]
        if len(new) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r["decision"] for r in new] == ["error", "allow", "allow"], new
    assert new[0]["principal"] == new[1]["principal"] == keys["admin"]["id"]
    assert new[2]["principal"] is None
    assert all(r["kind"] == "policy.reload" for r in new)
    contents = []
    for record in new:
        view = _get(gw.url + f"/audit/records/{record['seq']}", headers=_auth(auditor)).json()
        contents.append(json.dumps(view["content"]))
    assert "bogus_field" in contents[0]
    assert "SIGHUP" in contents[2] and "SIGHUP" not in contents[1]


# ----------------------------------------------------------------------------- the key store at rest


def test_data_directory_never_contains_a_usable_key(gw: Gateway, keys: dict[str, dict[str, Any]]) -> None:
    # Runs last among this gateway's tests: every key issued above, by CLI or HTTP, is in ISSUED.
    assert len(ISSUED) >= 4
    db = gw.data_dir / "gateway.db"
    assert db.is_file()
    files = [p for p in gw.data_dir.rglob("*") if p.is_file()]
    assert db in files
    blobs = {p: p.read_bytes() for p in files}
    blobs[gw.log_path] = gw.log_path.read_bytes()
    for key in ISSUED:
        secret = _secret_of(key)
        assert len(secret) >= 40
        for path, data in blobs.items():
            assert key.encode() not in data, f"plaintext key found in {path.name}"
            assert secret.encode() not in data, f"key secret found in {path.name}"
    # The store holds the public prefixes (sanity check that the scan reads the right file).
    with sqlite3.connect(db) as conn:
        prefixes = {row[0] for row in conn.execute("SELECT prefix FROM gateway_api_keys")}
    assert {key.split("_")[1] for key in ISSUED} <= prefixes


# ----------------------------------------------------------------------------- rate limits and quotas

RATE_ROLES = "version: 1\nroles:\n  service:\n    requests_per_minute: 2\n  analyst:\n    tokens_per_day: 5\n"


@pytest.fixture(scope="module")
def rate_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("rate-site")
    (site / "roles.yaml").write_text(RATE_ROLES)
    return site


@pytest.fixture(scope="module")
def rate_gw(sim: Simulator, rate_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("gw-rate"), sim.url, None, "--policy-dir", str(rate_site))
    yield gateway
    stop(gateway.proc)


def _assert_429(response: httpx.Response, max_retry_s: int) -> None:
    error = _error(response, 429, "rate_limit_error")
    assert error["code"] == "rate_limit_exceeded"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= max_retry_s


def test_requests_per_minute_limit_gives_429_with_retry_after(rate_gw: Gateway) -> None:
    made = _store_create(rate_gw, {"rpm-a": {"roles": ["service"]}, "rpm-b": {"roles": ["service"]}})
    first, second = made["rpm-a"]["key"], made["rpm-b"]["key"]
    assert _chat(rate_gw, first).status_code == 200
    assert _chat(rate_gw, first).status_code == 200
    _assert_429(_chat(rate_gw, first), 60)
    _assert_429(_chat(rate_gw, first), 60)  # refused requests are not counted, but still refused
    # The limit is per credential: another key of the same role is not affected.
    assert _chat(rate_gw, second).status_code == 200


def test_exhausted_daily_token_quota_gives_429(rate_gw: Gateway) -> None:
    key = _store_create(rate_gw, {"tpd": {"roles": ["analyst"]}})["tpd"]["key"]
    answer = _chat(rate_gw, key, content="one two three four five six seven eight")
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["total_tokens"] > 5
    _assert_429(_chat(rate_gw, key), 86_400)


@pytest.fixture(scope="module")
def redis_pair(
    redis_url: str, sim: Simulator, rate_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Gateway]]:
    env = {"GATEWAY_RATELIMIT__REDIS_URL": redis_url}
    first_dir = tmp_path_factory.mktemp("gw-redis-a")
    a = start_gateway(first_dir, sim.url, env, "--policy-dir", str(rate_site))
    try:
        second_dir = tmp_path_factory.mktemp("gw-redis-b")
        (second_dir / "var").symlink_to(first_dir / "var", target_is_directory=True)  # one shared store
        b = start_gateway(second_dir, sim.url, env, "--policy-dir", str(rate_site))
    except BaseException:
        stop(a.proc)
        raise
    yield a, b
    stop(b.proc)
    stop(a.proc)


@pytest.mark.redis
def test_two_gateway_processes_share_the_rate_limit_through_redis(
    redis_pair: tuple[Gateway, Gateway],
) -> None:
    a, b = redis_pair
    made = _store_create(a, {"redis-rpm": {"roles": ["service"]}, "redis-other": {"roles": ["service"]}})
    key, other = made["redis-rpm"]["key"], made["redis-other"]["key"]
    assert _chat(a, key).status_code == 200
    assert _chat(a, key).status_code == 200
    _assert_429(_chat(b, key), 60)
    assert _chat(b, other).status_code == 200
    assert _chat(a, other).status_code == 200
    _assert_429(_chat(b, other), 60)
