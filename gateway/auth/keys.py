"""API keys: created once, stored only as a keyed hash, looked up by a public prefix.

Key format: ``gw_<prefix>_<secret>``, where ``prefix`` is 8 random lowercase letters/digits
(public: shown in listings and logs to tell keys apart) and ``secret`` is 32 random bytes
in unpadded base64url (256 bits). The database holds the prefix and
``HMAC-SHA256(pepper, full key)``; the pepper lives in the key directory, not the database,
so a stolen database neither contains a usable key nor allows offline guessing.

Rotation keeps the key's id, prefix, roles and expiry and issues a new secret. The previous
secret keeps working until ``rotate_grace`` has passed (configured by the gateway, 24 h by
default) so clients can roll over without downtime; only one previous secret is kept, so a
second rotation ends the first one's grace at once. Revocation ends both immediately.

Successful look-ups are cached in process for ``cache_ttl`` (5 s by default; 0 turns it
off) so a request does not pay a database round trip. Revoking or rotating through this
store clears the cache at once; a revocation made by another replica takes effect here
within ``cache_ttl``. Expiry and the rotation grace deadline are checked on every call.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import re
import secrets
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.errors import AuthenticationError, KeyNotFoundError, KeyStateError
from policies.rbac import MAX_TENANT_LEN, Principal

KEY_PREFIX = "gw_"
PREFIX_LEN = 8
SECRET_BYTES = 32
MIN_PEPPER_BYTES = 32
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_LEN = len(base64.urlsafe_b64encode(bytes(SECRET_BYTES)).rstrip(b"="))
_KEY_RE = re.compile(rf"^gw_([a-z0-9]{{{PREFIX_LEN}}})_([A-Za-z0-9_-]{{{_SECRET_LEN}}})$")
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")

metadata = sa.MetaData()

api_keys = sa.Table(
    "gateway_api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("tenant", sa.String(200), nullable=True),
    sa.Column("models", sa.JSON, nullable=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("previous_key_hash", sa.String(64), nullable=True),
    sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("prefix", name="uq_gateway_api_keys_prefix"),
)


@dataclass(frozen=True)
class KeyRecord:
    """What is known about an API key, without any secret or hash."""

    id: str
    prefix: str
    name: str
    roles: tuple[str, ...]
    tenant: str | None
    models: tuple[str, ...] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None
    previous_valid_until: datetime | None

    def status(self, now: datetime | None = None) -> str:
        """``"revoked"``, ``"expired"`` or ``"active"`` at ``now``."""
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON-ready view (ISO 8601 times) for ``keys list --json`` and ``/admin/keys``."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "roles": list(self.roles),
            "tenant": self.tenant,
            "models": list(self.models) if self.models is not None else None,
            "status": self.status(now),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "rotated_at": iso(self.rotated_at),
            "previous_valid_until": iso(self.previous_valid_until),
        }


def _utc(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back; everything is stored in UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: sa.Row[Any]) -> KeyRecord:
    created = _utc(row.created_at)
    assert created is not None
    return KeyRecord(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        roles=tuple(row.roles),
        tenant=row.tenant,
        models=tuple(row.models) if row.models is not None else None,
        created_at=created,
        expires_at=_utc(row.expires_at),
        revoked_at=_utc(row.revoked_at),
        rotated_at=_utc(row.rotated_at),
        previous_valid_until=_utc(row.previous_valid_until),
    )


class AllTenants:
    """Marker for "no tenant filter" (``None`` means the keys that have no tenant)."""


ALL_TENANTS = AllTenants()


def _new_id() -> str:
    # Time-ordered (milliseconds, then randomness) so listings page in creation order.
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(4)}"


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LEN))


def _new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()


class KeyStore:
    """API keys in table ``gateway_api_keys`` (run :func:`gateway.migrations.migrate` first).

    ``pepper``: the HMAC secret (at least 32 bytes) kept outside the database.
    ``rotate_grace``: how long a rotated key's previous secret keeps working.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        pepper: bytes,
        rotate_grace: timedelta = timedelta(hours=24),
        *,
        cache_ttl: timedelta = timedelta(seconds=5),
        cache_size: int = 10_000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if len(pepper) < MIN_PEPPER_BYTES:
            raise ValueError(f"API key pepper must be at least {MIN_PEPPER_BYTES} bytes")
        if rotate_grace < timedelta(0):
            raise ValueError("rotate_grace must not be negative")
        self._engine = engine
        self._pepper = pepper
        self._grace = rotate_grace
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cache_ttl_s = cache_ttl.total_seconds()
        self._cache_size = cache_size
        # HMAC digest of a presented key -> (record, deadline of a previous secret, monotonic time cached).
        self._cache: dict[str, tuple[KeyRecord, datetime | None, float]] = {}
        # Compared against when the prefix is unknown, so that case costs the same work.
        self._dummy_hash = self._hash(KEY_PREFIX + "x" * (PREFIX_LEN + 1 + _SECRET_LEN))

    def __repr__(self) -> str:
        return f"KeyStore(rotate_grace={self._grace!r})"

    def _hash(self, plaintext: str) -> str:
        return hmac.new(self._pepper, plaintext.encode("ascii"), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ management

    async def create(
        self,
        name: str,
        roles: Sequence[str],
        tenant: str | None = None,
        expires_in: timedelta | None = None,
        models: Sequence[str] | None = None,
    ) -> tuple[KeyRecord, str]:
        """Create a key; return its record and the plaintext key, which is never retrievable again.

        Role names are stored as given; check them first with
        :func:`policies.rbac.validate_role_assignment`. ``models=None`` = no key-level restriction.
        """
        if not isinstance(name, str) or not _NAME_RE.match(name) or not name.strip():
            raise ValueError("key name must be 1-200 printable characters")
        role_list = list(dict.fromkeys(roles))
        if not role_list or not all(isinstance(r, str) and r.strip() for r in role_list):
            raise ValueError("an API key needs at least one non-empty role")
        if tenant is not None and not (
            isinstance(tenant, str) and 0 < len(tenant) <= MAX_TENANT_LEN and tenant.isprintable()
        ):
            raise ValueError(f"tenant must be 1-{MAX_TENANT_LEN} printable characters")
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValueError("expires_in must be positive")
        model_list = None if models is None else [m for m in models if m.strip()]
        now = self._clock()
        for _ in range(5):
            key_id, prefix, secret = _new_id(), _new_prefix(), _new_secret()
            plaintext = f"{KEY_PREFIX}{prefix}_{secret}"
            values = {
                "id": key_id,
                "prefix": prefix,
                "name": name,
                "roles": role_list,
                "tenant": tenant,
                "models": model_list,
                "key_hash": self._hash(plaintext),
                "created_at": now,
                "expires_at": now + expires_in if expires_in is not None else None,
            }
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(api_keys.insert().values(**values))
            except IntegrityError:  # prefix (or id) collision: draw again
                continue
            return await self.get(key_id), plaintext
        raise RuntimeError("could not allocate a unique API key prefix")

    async def get(self, key_id: str) -> KeyRecord:
        """The record of one key; :class:`KeyNotFoundError` if there is none."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
        if row is None:
            raise KeyNotFoundError(key_id)
        return _record(row)

    async def list(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        tenant: str | AllTenants | None = ALL_TENANTS,
    ) -> builtins.list[KeyRecord]:
        """Keys in creation order (revoked and expired included), without secrets.

        ``after``: a key id, for cursor paging (the last id of the previous page).
        ``tenant``: only the keys of this tenant (``None``: keys with no tenant); every key by default.
        """
        query = sa.select(api_keys).order_by(api_keys.c.id)
        if not isinstance(tenant, AllTenants):
            column = api_keys.c.tenant
            query = query.where(column.is_(None) if tenant is None else column == tenant)
        if after is not None:
            query = query.where(api_keys.c.id > after)
        if limit is not None:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a key and any previous secret at once. Revoking twice is harmless."""
        self._cache.clear()
        now = self._clock()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, previous_key_hash=None, previous_valid_until=None)
            )
            if result.rowcount == 0:
                exists = (await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.id == key_id))).first()
                if exists is None:
                    raise KeyNotFoundError(key_id)
        return await self.get(key_id)

    async def rotate(self, key_id: str) -> tuple[KeyRecord, str]:
        """Issue a new secret for the key (same id and prefix); return the record and new plaintext.

        The old secret stays valid for ``rotate_grace``. Refused with :class:`KeyStateError`
        for a revoked or expired key.
        """
        self._cache.clear()
        now = self._clock()
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
            if row is None:
                raise KeyNotFoundError(key_id)
            state = _record(row).status(now)
            if state != "active":
                raise KeyStateError(key_id, state)
            plaintext = f"{KEY_PREFIX}{row.prefix}_{_new_secret()}"
            grace = self._grace > timedelta(0)
            result = await conn.execute(
                api_keys.update()
                # Only if nobody rotated or revoked it meanwhile.
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.key_hash == row.key_hash,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(
                    key_hash=self._hash(plaintext),
                    previous_key_hash=row.key_hash if grace else None,
                    previous_valid_until=now + self._grace if grace else None,
                    rotated_at=now,
                )
            )
            if result.rowcount != 1:
                raise KeyStateError(key_id, "concurrently modified")
        return await self.get(key_id), plaintext

    # ------------------------------------------------------------------ authentication

    async def authenticate(self, plaintext: str) -> Principal:
        """The principal of a presented key, or :class:`AuthenticationError`.

        Codes: ``invalid_key`` (malformed, unknown, or wrong secret), ``revoked``, ``expired``.
        The secret is checked before the key's state, so a caller who knows only a prefix
        learns nothing about the key.
        """
        match = _KEY_RE.match(plaintext) if isinstance(plaintext, str) else None
        if match is None:
            raise AuthenticationError("invalid_key")
        presented = self._hash(plaintext)
        now = self._clock()
        cached = self._cache.get(presented)
        if cached is not None and time.monotonic() - cached[2] < self._cache_ttl_s:
            record, previous_until = cached[0], cached[1]
            if previous_until is not None and now >= previous_until:
                raise AuthenticationError("invalid_key")
            return self._principal(record, now)
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.prefix == match.group(1)))).first()
        if row is None:
            hmac.compare_digest(presented, self._dummy_hash)
            raise AuthenticationError("invalid_key")
        current_ok = hmac.compare_digest(presented, row.key_hash)
        previous_ok = hmac.compare_digest(presented, row.previous_key_hash or self._dummy_hash)
        previous_until = _utc(row.previous_valid_until) if not current_ok else None
        if not current_ok and not (
            previous_ok
            and row.previous_key_hash is not None
            and previous_until is not None
            and now < previous_until
        ):
            raise AuthenticationError("invalid_key")
        record = _record(row)
        principal = self._principal(record, now)
        if self._cache_ttl_s > 0:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[presented] = (record, previous_until, time.monotonic())
        return principal

    @staticmethod
    def _principal(record: KeyRecord, now: datetime) -> Principal:
        status = record.status(now)
        if status != "active":
            raise AuthenticationError(status)
        return Principal(
            id=record.id,
            roles=record.roles,
            tenant=record.tenant,
            auth_method="api_key",
            key_id=record.id,
            models=record.models,
        )
