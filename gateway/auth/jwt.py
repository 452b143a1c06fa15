"""OIDC bearer tokens: signature against a JWKS, then issuer, audience, time and role claims.

Only asymmetric algorithms are accepted, and only those in the configured allow-list:
``none`` and every ``HS*`` algorithm are refused before any key is touched, so a token
"signed" with the IdP's public key as an HMAC secret cannot pass. The token's ``alg`` must
also fit the type of the key its ``kid`` names (RSA for RS/PS, EC for ES, OKP for EdDSA).

The JWKS comes from a local file or an internal IdP URL: fetched by :meth:`JWTVerifier.load`
at start (failure is fatal then), refreshed in the background every ``refresh_s`` and soon
after a token names an unknown ``kid`` (the IdP rotated its keys). A failed refresh keeps
the keys already loaded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import structlog
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from gateway.auth.errors import AuthenticationError
from policies.rbac import MAX_TENANT_LEN, Principal

log = structlog.get_logger("gateway.auth.jwt")

#: Algorithm -> the JWK key type that must sign it.
ASYMMETRIC_ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {
        "RS256": "RSA",
        "RS384": "RSA",
        "RS512": "RSA",
        "PS256": "RSA",
        "PS384": "RSA",
        "PS512": "RSA",
        "ES256": "EC",
        "ES384": "EC",
        "ES512": "EC",
        "EdDSA": "OKP",
        "Ed25519": "OKP",
    }
)
#: Seconds between two refreshes triggered by unknown ``kid`` values (bounds IdP load).
MIN_REFRESH_INTERVAL_S = 30.0
#: JWT principals are ``jwt:<sub>``: an IdP subject can never look like an API key id (hex).
JWT_PRINCIPAL_PREFIX = "jwt:"
#: The audit log's principal column holds at most this many characters.
MAX_PRINCIPAL_LEN = 256
_MAX_TOKEN_BYTES = 16 * 1024


class JWKSUnavailable(RuntimeError):
    """The JWKS could not be read or holds no usable public key (fatal at start)."""


@dataclass(frozen=True)
class JWTSettings:
    """How bearer JWTs are validated.

    ``roles_claim``: dotted path of the roles claim, e.g. ``realm_access.roles`` (Keycloak),
    ``roles`` (Azure AD app roles) or ``groups``; its value is a list of strings or one
    space-separated string. ``role_map``: IdP role/group name -> gateway role; when it is
    non-empty only mapped names count (IdP group names never become gateway roles by
    accident), when empty the names are used as they are.
    """

    issuer: str
    audience: str
    jwks_file: Path | None = None
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")
    roles_claim: str = "realm_access.roles"
    role_map: Mapping[str, str] = field(default_factory=dict)
    leeway_s: int = 30
    refresh_s: int = 300
    tenant_claim: str | None = None
    subject_claim: str = "sub"
    http_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ValueError("JWT issuer and audience must both be configured")
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("configure exactly one of jwks_file and jwks_url")
        if not self.algorithms:
            raise ValueError("at least one JWT algorithm must be allowed")
        for alg in self.algorithms:
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(
                    f"JWT algorithm {alg!r} is not allowed; choose from {', '.join(ASYMMETRIC_ALGORITHMS)}"
                )
        if self.leeway_s < 0 or self.leeway_s > 300:
            raise ValueError("leeway_s must be between 0 and 300")
        if self.refresh_s < 10:
            raise ValueError("refresh_s must be at least 10")
        object.__setattr__(self, "algorithms", tuple(self.algorithms))
        object.__setattr__(self, "role_map", MappingProxyType(dict(self.role_map)))


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path (``realm_access.roles``), or ``None``.

    A claim whose own name contains dots (``https://example.org/roles``) is found too.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def roles_from_claims(
    claims: Mapping[str, Any], roles_claim: str, role_map: Mapping[str, str]
) -> tuple[str, ...]:
    """Gateway role names carried by the claims (see :class:`JWTSettings`), de-duplicated."""
    raw = claim_at(claims, roles_claim)
    if isinstance(raw, str):
        names = raw.split()
    elif isinstance(raw, list):
        names = [item for item in raw if isinstance(item, str)]
    else:
        names = []
    if role_map:
        names = [role_map[name] for name in names if name in role_map]
    return tuple(dict.fromkeys(names))


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


class JWTVerifier:
    """Validates bearer JWTs against the configured JWKS and turns them into principals."""

    def __init__(
        self,
        settings: JWTSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._http = http_client
        self._own_http = http_client is None
        self._clock = clock
        self._keys: dict[str, RSAKey | ECKey | OKPKey] = {}
        self._unnamed: list[RSAKey | ECKey | OKPKey] = []
        self._refresh_task: asyncio.Task[None] | None = None
        self._kid_refresh: asyncio.Task[None] | None = None
        self._last_refresh = 0.0

    # ------------------------------------------------------------------ JWKS

    async def load(self) -> None:
        """Read the JWKS now; start background refresh for a URL. Raises :class:`JWKSUnavailable`."""
        await self._refresh()
        if self.settings.jwks_url is not None and self._refresh_task is None:
            self._refresh_task = asyncio.create_task(self._refresh_loop(), name="jwks-refresh")

    async def aclose(self) -> None:
        """Stop background refresh and close the HTTP client this verifier created."""
        for task in (self._refresh_task, self._kid_refresh):
            if task is not None:
                task.cancel()
        for task in (self._refresh_task, self._kid_refresh):
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: S110 - shutting down
                    pass
        self._refresh_task = self._kid_refresh = None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _fetch(self) -> Any:
        if self.settings.jwks_file is not None:
            try:
                return json.loads(await asyncio.to_thread(self.settings.jwks_file.read_bytes))
            except (OSError, ValueError) as exc:
                raise JWKSUnavailable(f"cannot read JWKS file ({type(exc).__name__})") from exc
        assert self.settings.jwks_url is not None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.settings.http_timeout_s, trust_env=False)
        try:
            response = await self._http.get(self.settings.jwks_url, headers={"accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise JWKSUnavailable(f"cannot fetch JWKS ({type(exc).__name__})") from exc

    async def _refresh(self) -> None:
        self._last_refresh = time.monotonic()
        document = await self._fetch()
        keys, unnamed = self._import(document)
        self._keys, self._unnamed = keys, unnamed
        log.info("jwt.jwks_loaded", keys=len(keys) + len(unnamed))

    @staticmethod
    def _import(document: Any) -> tuple[dict[str, RSAKey | ECKey | OKPKey], list[RSAKey | ECKey | OKPKey]]:
        if isinstance(document, Mapping) and "keys" not in document and "kty" in document:
            document = {"keys": [document]}
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise JWKSUnavailable("JWKS must be an object with a 'keys' list")
        keys: dict[str, RSAKey | ECKey | OKPKey] = {}
        unnamed: list[RSAKey | ECKey | OKPKey] = []
        for entry in document["keys"]:
            if not isinstance(entry, Mapping) or entry.get("kty") not in ("RSA", "EC", "OKP"):
                # Symmetric ("oct") or unknown keys are never used to verify tokens.
                log.warning(
                    "jwt.jwks_key_skipped", kty=str(entry.get("kty")) if isinstance(entry, Mapping) else None
                )
                continue
            if entry.get("use") not in (None, "sig"):
                continue
            public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth")}
            try:
                key = KeySet.import_key_set({"keys": [public]}).keys[0]
            except (JoseError, ValueError, TypeError) as exc:
                log.warning("jwt.jwks_key_invalid", kid=str(entry.get("kid")), error=type(exc).__name__)
                continue
            assert isinstance(key, RSAKey | ECKey | OKPKey)
            if key.kid:
                keys[key.kid] = key
            else:
                unnamed.append(key)
        if not keys and not unnamed:
            raise JWKSUnavailable("JWKS holds no usable public signing key")
        return keys, unnamed

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_s)
            await self._safe_refresh()

    async def _safe_refresh(self) -> None:
        try:
            await self._refresh()
        except JWKSUnavailable as exc:
            log.warning("jwt.jwks_refresh_failed", error=str(exc))

    def _request_refresh(self) -> None:
        # Called from the synchronous verify(): schedule, never wait. The token at hand is
        # refused; a retry after the refresh succeeds.
        if self.settings.jwks_url is None or time.monotonic() - self._last_refresh < MIN_REFRESH_INTERVAL_S:
            return
        if self._kid_refresh is not None and not self._kid_refresh.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._last_refresh = time.monotonic()
        self._kid_refresh = loop.create_task(self._safe_refresh(), name="jwks-refresh-kid")

    # ------------------------------------------------------------------ verification

    def _key_for(self, header: Mapping[str, Any]) -> RSAKey | ECKey | OKPKey:
        kid = header.get("kid")
        if kid is not None:
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                self._request_refresh()
                raise AuthenticationError("unknown_kid")
            return key
        candidates = [*self._keys.values(), *self._unnamed]
        if len(candidates) != 1:
            raise AuthenticationError("unknown_kid")
        return candidates[0]

    def verify(self, token: str) -> Principal:
        """Validate a compact JWS and return its principal, or raise :class:`AuthenticationError`.

        Codes: ``invalid_token``, ``algorithm_not_allowed``, ``unknown_kid``,
        ``invalid_signature``, ``wrong_issuer``, ``wrong_audience``, ``token_expired``,
        ``not_yet_valid``, ``missing_claim``, ``no_roles``.
        """
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_BYTES or token.count(".") != 2:
            raise AuthenticationError("invalid_token")
        try:
            header = _b64_json(token.split(".", 1)[0])
        except (ValueError, UnicodeError) as exc:
            raise AuthenticationError("invalid_token") from exc
        if not isinstance(header, dict):
            raise AuthenticationError("invalid_token")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.settings.algorithms:
            raise AuthenticationError("algorithm_not_allowed")
        key = self._key_for(header)
        if key.key_type != ASYMMETRIC_ALGORITHMS[alg]:
            raise AuthenticationError("algorithm_not_allowed")
        if key.alg is not None and key.alg != alg:
            raise AuthenticationError("algorithm_not_allowed")
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
        except BadSignatureError as exc:
            raise AuthenticationError("invalid_signature") from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationError("invalid_token") from exc
        return self._principal(decoded.claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        s = self.settings
        if claims.get("iss") != s.issuer:
            raise AuthenticationError("wrong_issuer")
        aud = claims.get("aud")
        if not (aud == s.audience or (isinstance(aud, list) and s.audience in aud)):
            raise AuthenticationError("wrong_audience")
        now = self._clock()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise AuthenticationError("missing_claim")
        if now >= exp + s.leeway_s:
            raise AuthenticationError("token_expired")
        nbf = claims.get("nbf")
        if nbf is not None and (not isinstance(nbf, int | float) or now + s.leeway_s < nbf):
            raise AuthenticationError("not_yet_valid")
        subject = claim_at(claims, s.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("missing_claim")
        roles = roles_from_claims(claims, s.roles_claim, s.role_map)
        if not roles:
            raise AuthenticationError("no_roles")
        tenant: str | None = None
        if s.tenant_claim:
            # A token that should name a tenant but does not must never pass as a global credential.
            claimed = claim_at(claims, s.tenant_claim)
            if not isinstance(claimed, str) or not claimed.strip() or len(claimed) > MAX_TENANT_LEN:
                raise AuthenticationError("missing_claim")
            tenant = claimed
        principal_id = JWT_PRINCIPAL_PREFIX + subject
        if len(principal_id) > MAX_PRINCIPAL_LEN or not principal_id.isprintable():
            raise AuthenticationError("invalid_token")
        return Principal(id=principal_id, roles=roles, tenant=tenant, auth_method="jwt")
