"""JWT validation against a JWKS: every forged or out-of-policy token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from gateway.auth.errors import AuthenticationError
from gateway.auth.jwt import JWKSUnavailable, JWTSettings, JWTVerifier, claim_at, roles_from_claims

ISSUER = "https://idp.hospital.internal/realms/main"
AUDIENCE = "compliance-gateway"

#: The verifiers' clock: token times are offsets from it, so a slow or loaded run cannot let a
#: token expire (or become valid) between signing and checking.
NOW = 1_800_000_000


def fixed_clock() -> float:
    return float(NOW)


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1"})


@pytest.fixture(scope="module")
def ed_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_key: RSAKey, ec_key: ECKey, ed_key: OKPKey) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([rsa_key, ec_key, ed_key]).as_dict(private=False)))
    return path


def settings(jwks_file: Path, **over: Any) -> JWTSettings:
    return JWTSettings(**{"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": jwks_file, **over})


@pytest.fixture
async def verifier(jwks_file: Path) -> JWTVerifier:
    v = JWTVerifier(settings(jwks_file), clock=fixed_clock)
    await v.load()
    return v


def claims(**over: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-123",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 300,
        "realm_access": {"roles": ["clinician", "offline_access"]},
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: Any, payload: dict[str, Any], alg: str = "RS256", **header: Any) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid, **header}, payload, key, algorithms=[alg])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(verifier: JWTVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as exc:
        verifier.verify(token)
    return exc.value.code


async def test_valid_rs256_token_gives_principal_with_keycloak_roles(
    verifier: JWTVerifier, rsa_key: RSAKey
) -> None:
    principal = verifier.verify(sign(rsa_key, claims()))
    assert principal.id == "jwt:user-123"
    assert principal.roles == ("clinician", "offline_access")
    assert principal.auth_method == "jwt"
    assert principal.tenant is None


@pytest.mark.parametrize(
    ("key_name", "alg"), [("ec_key", "ES256"), ("ed_key", "EdDSA"), ("rsa_key", "PS256")]
)
async def test_other_allowed_algorithms_verify(
    verifier: JWTVerifier, request: pytest.FixtureRequest, key_name: str, alg: str
) -> None:
    key = request.getfixturevalue(key_name)
    assert verifier.verify(sign(key, claims(), alg)).id == "jwt:user-123"


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"iss": "https://evil.example/realms/main"}, "wrong_issuer"),
        ({"aud": "another-app"}, "wrong_audience"),
        ({"aud": ["another-app", "third"]}, "wrong_audience"),
        ({"exp": -120}, "token_expired"),
        ({"exp": None}, "missing_claim"),
        ({"nbf": +600}, "not_yet_valid"),
        ({"sub": None}, "missing_claim"),
        ({"realm_access": None}, "no_roles"),
    ],
)
async def test_out_of_policy_claims_are_refused(
    verifier: JWTVerifier, rsa_key: RSAKey, over: dict[str, Any], code: str
) -> None:
    # Times are offsets from the verifier's clock, not values fixed when the tests were collected.
    over = {k: NOW + v if k in ("exp", "nbf") and v is not None else v for k, v in over.items()}
    assert refused(verifier, sign(rsa_key, claims(**over))) == code


async def test_audience_list_containing_ours_is_accepted(verifier: JWTVerifier, rsa_key: RSAKey) -> None:
    assert verifier.verify(sign(rsa_key, claims(aud=["other", AUDIENCE]))).id == "jwt:user-123"


async def test_leeway_tolerates_small_clock_skew(verifier: JWTVerifier, rsa_key: RSAKey) -> None:
    assert verifier.verify(sign(rsa_key, claims(exp=NOW - 10, nbf=NOW + 10))).id == "jwt:user-123"


async def test_alg_none_is_refused(verifier: JWTVerifier) -> None:
    token = (
        f"{b64(json.dumps({'alg': 'none', 'kid': 'rsa-1'}).encode())}.{b64(json.dumps(claims()).encode())}."
    )
    assert refused(verifier, token) == "algorithm_not_allowed"


async def test_hs256_signed_with_the_rsa_public_key_is_refused(
    verifier: JWTVerifier, rsa_key: RSAKey
) -> None:
    # The classic key-confusion attack: HMAC keyed with the public key the verifier holds.
    secret = rsa_key.as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert refused(verifier, f"{header}.{payload}.{signature}") == "algorithm_not_allowed"


async def test_algorithm_not_matching_the_kids_key_type_is_refused(
    verifier: JWTVerifier, ec_key: ECKey
) -> None:
    # ES256 token that claims the RSA key's kid.
    token = jwt.encode({"alg": "ES256", "kid": "rsa-1"}, claims(), ec_key, algorithms=["ES256"])
    assert refused(verifier, token) == "algorithm_not_allowed"


async def test_algorithm_outside_the_allow_list_is_refused(jwks_file: Path, ec_key: ECKey) -> None:
    v = JWTVerifier(settings(jwks_file, algorithms=("RS256",)), clock=fixed_clock)
    await v.load()
    assert refused(v, sign(ec_key, claims(), "ES256")) == "algorithm_not_allowed"


async def test_unknown_kid_is_refused(verifier: JWTVerifier) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"})
    assert refused(verifier, sign(stranger, claims())) == "unknown_kid"


async def test_token_signed_by_another_key_under_a_known_kid_is_refused(verifier: JWTVerifier) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    assert refused(verifier, sign(impostor, claims())) == "invalid_signature"


async def test_tampered_payload_is_refused(verifier: JWTVerifier, rsa_key: RSAKey) -> None:
    header, _, signature = sign(rsa_key, claims()).split(".")
    forged = b64(json.dumps(claims(realm_access={"roles": ["admin"]})).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") == "invalid_signature"


@pytest.mark.parametrize("token", ["", "a.b", "not.a.token", "x" * 20000, "eyJhbGciOiJSUzI1NiJ9.e30.!!"])
async def test_garbage_is_refused(verifier: JWTVerifier, token: str) -> None:
    assert refused(verifier, token) in {
        "invalid_token",
        "algorithm_not_allowed",
        "unknown_kid",
        "invalid_signature",
    }


# ----------------------------------------------------------------- role claims


async def test_azure_roles_claim(jwks_file: Path, rsa_key: RSAKey) -> None:
    v = JWTVerifier(settings(jwks_file, roles_claim="roles", tenant_claim="tid"), clock=fixed_clock)
    await v.load()
    principal = v.verify(sign(rsa_key, claims(roles=["analyst"], tid="tenant-42")))
    assert principal.roles == ("analyst",)
    assert principal.tenant == "tenant-42"


@pytest.mark.parametrize(
    "tid",
    [pytest.param(None, id="claim-missing"), "", "   ", 42, ["t1"], {"id": "t1"}, True, "t" * 129],
)
async def test_token_without_a_usable_tenant_claim_is_refused_not_global(
    jwks_file: Path, rsa_key: RSAKey, tid: object
) -> None:
    v = JWTVerifier(settings(jwks_file, roles_claim="roles", tenant_claim="tid"), clock=fixed_clock)
    await v.load()
    extra = {} if tid is None else {"tid": tid}
    with pytest.raises(AuthenticationError) as exc:
        v.verify(sign(rsa_key, claims(roles=["auditor"], **extra)))
    assert exc.value.code == "missing_claim"


async def test_jwt_principal_is_namespaced_so_a_sub_cannot_pose_as_an_api_key_id(
    jwks_file: Path, rsa_key: RSAKey
) -> None:
    v = JWTVerifier(settings(jwks_file), clock=fixed_clock)
    await v.load()
    key_like_id = "0192a6b3c4d5e6f7a8b9"  # the shape of an API key id
    principal = v.verify(sign(rsa_key, claims(sub=key_like_id)))
    assert principal.id == "jwt:" + key_like_id
    assert principal.key_id is None


async def test_groups_claim_with_role_map_counts_only_mapped_groups(jwks_file: Path, rsa_key: RSAKey) -> None:
    role_map = {"/hospital/cardiology": "clinician", "gw-auditors": "auditor"}
    v = JWTVerifier(settings(jwks_file, roles_claim="groups", role_map=role_map), clock=fixed_clock)
    await v.load()
    principal = v.verify(sign(rsa_key, claims(groups=["/hospital/cardiology", "admin", "gw-auditors"])))
    assert principal.roles == ("clinician", "auditor")
    assert refused(v, sign(rsa_key, claims(groups=["admin"]))) == "no_roles"


def test_claim_paths_and_role_extraction() -> None:
    c = {"realm_access": {"roles": ["a"]}, "https://x.org/roles": ["b"], "scope": "c d c"}
    assert claim_at(c, "realm_access.roles") == ["a"]
    assert claim_at(c, "https://x.org/roles") == ["b"]
    assert claim_at(c, "missing.path") is None
    assert roles_from_claims(c, "scope", {}) == ("c", "d")
    assert roles_from_claims({"roles": [1, "x"]}, "roles", {}) == ("x",)


# ----------------------------------------------------------------- settings and JWKS


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RSA-OAEP"])
def test_settings_refuse_symmetric_and_none_algorithms(tmp_path: Path, alg: str) -> None:
    with pytest.raises(ValueError):
        settings(tmp_path / "jwks.json", algorithms=(alg,))


def test_settings_require_issuer_audience_and_one_jwks_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        JWTSettings(issuer="", audience=AUDIENCE, jwks_file=tmp_path)
    with pytest.raises(ValueError):
        JWTSettings(issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError):
        JWTSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=tmp_path, jwks_url="http://idp/jwks")


async def test_symmetric_keys_in_the_jwks_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": b64(b"s" * 32), "kid": "hmac"}]}))
    with pytest.raises(JWKSUnavailable):
        await JWTVerifier(settings(path), clock=fixed_clock).load()


async def test_missing_jwks_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(JWKSUnavailable):
        await JWTVerifier(settings(tmp_path / "absent.json"), clock=fixed_clock).load()


async def test_jwks_from_url_and_refresh_after_idp_key_rotation(
    rsa_key: RSAKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.auth.jwt as jwt_module

    monkeypatch.setattr(jwt_module, "MIN_REFRESH_INTERVAL_S", 0.0)
    new_key = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
    served = {"keys": [rsa_key]}
    fetches = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetches.append(request.url.path)
        return httpx.Response(200, json=KeySet(served["keys"]).as_dict(private=False))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    v = JWTVerifier(
        JWTSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url="http://idp.internal/certs"),
        http_client=client,
        clock=fixed_clock,
    )
    await v.load()
    try:
        assert v.verify(sign(rsa_key, claims())).id == "jwt:user-123"
        served["keys"] = [rsa_key, new_key]
        token = sign(new_key, claims())
        assert refused(v, token) == "unknown_kid"  # schedules a refresh
        assert v._kid_refresh is not None
        await v._kid_refresh
        assert v.verify(token).id == "jwt:user-123"
        assert len(fetches) == 2
    finally:
        await v.aclose()
        await client.aclose()


async def test_failed_refresh_keeps_the_loaded_keys(rsa_key: RSAKey) -> None:
    up = {"ok": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if up["ok"]:
            return httpx.Response(200, json=KeySet([rsa_key]).as_dict(private=False))
        return httpx.Response(503)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    v = JWTVerifier(
        JWTSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url="http://idp.internal/certs"),
        http_client=client,
        clock=fixed_clock,
    )
    await v.load()
    up["ok"] = False
    await v._safe_refresh()
    assert v.verify(sign(rsa_key, claims())).id == "jwt:user-123"
    await v.aclose()
    await client.aclose()


async def test_unreachable_idp_at_start_is_fatal() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    v = JWTVerifier(
        JWTSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url="http://idp.internal/certs"),
        http_client=client,
        clock=fixed_clock,
    )
    with pytest.raises(JWKSUnavailable):
        await v.load()
    await client.aclose()
