"""The data keys (DEKs) of one log: looked up by scope, unwrapped through the key provider, cached.

A scope is ``s:<subject_ref>`` (one key per data subject, deleted by crypto-shredding) or
``d:<UTC day>`` (records without a subject). Calls to the provider (a KMS, possibly over the
network) are made before the append lock is taken wherever possible.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cachetools import LRUCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit import crypto
from audit.errors import KeyUnavailable
from audit.keyring import DekCache, KeyProvider, WrappedKey, dek_context
from audit.rows import now_us
from audit.schema import deks as deks_table

# scope -> (key id, data key, the data key wrapped under the current KEK), not yet stored
FreshKeys = dict[str, tuple[str, bytes, WrappedKey]]
# scope -> (key id, data key)
ScopeKeys = dict[str, tuple[str, bytes]]


class DataKeys:
    """Unwrapped data keys by key id and key ids by scope, both bounded LRU caches (event loop only)."""

    def __init__(self, engine: AsyncEngine, provider: KeyProvider, max_entries: int) -> None:
        self._engine = engine
        self._provider = provider
        self._deks = DekCache(max_entries)
        self._scopes: LRUCache[str, str] = LRUCache(maxsize=max(1, max_entries))

    def __repr__(self) -> str:
        return f"DataKeys({self._deks!r})"

    async def unwrap(self, key_id: str, scope: str, kek_version: int, wrapped: bytes) -> bytes:
        """The data key of a stored ``audit_deks`` row (cached; raises KeyUnavailable)."""
        dek = self._deks.get(key_id)
        if dek is None:
            dek = await self._provider.unwrap(
                WrappedKey(int(kek_version), bytes(wrapped)), dek_context(key_id, scope)
            )
            self._deks.put(key_id, dek)
        return dek

    async def _new(self, scope: str) -> tuple[str, bytes, WrappedKey]:
        key_id, dek = uuid.uuid4().hex, crypto.new_key()
        return key_id, dek, await self._provider.wrap(dek, dek_context(key_id, scope))

    async def prefetch(self, scopes: set[str]) -> FreshKeys:
        """Before taking the lock: unwrap known data keys, wrap new ones (KMS calls stay outside the lock)."""
        unknown = {s for s in scopes if (k := self._scopes.get(s)) is None or self._deks.get(k) is None}
        if not unknown:
            return {}
        d = deks_table.c
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(d.key_id, d.scope, d.kek_version, d.wrapped).where(d.scope.in_(sorted(unknown)))
                )
            ).all()
        for key_id, scope, version, wrapped in rows:
            await self.unwrap(key_id, scope, version, wrapped)
            self._scopes[scope] = key_id
            unknown.discard(scope)
        return {scope: await self._new(scope) for scope in unknown}

    async def resolve(self, scopes: set[str]) -> tuple[ScopeKeys, FreshKeys]:
        """Before taking the lock: the key believed current for every scope, either known (stored,
        unwrapped, cached) or fresh (wrapped, not yet stored). The writer checks the known ones
        under its lock and stores the fresh ones."""
        fresh = await self.prefetch(scopes)
        known: ScopeKeys = {}
        for scope in scopes - fresh.keys():
            key_id = self._scopes.get(scope)
            dek = self._deks.get(key_id) if key_id is not None else None
            if key_id is None or dek is None:  # evicted meanwhile (a batch wider than the cache)
                fresh[scope] = await self._new(scope)
            else:
                known[scope] = (key_id, dek)
        return known, fresh

    async def for_scopes_locked(self, conn: AsyncConnection, scopes: set[str], fresh: FreshKeys) -> ScopeKeys:
        """The data key of every scope, inside the caller's locked transaction: stored keys re-read
        (another process may have created or shredded one meanwhile), missing ones inserted (those
        ``fresh`` from :meth:`prefetch` where it has them)."""
        d = deks_table.c
        rows = (
            await conn.execute(
                select(d.key_id, d.scope, d.kek_version, d.wrapped).where(d.scope.in_(sorted(scopes)))
            )
        ).all()
        keys: ScopeKeys = {}
        for key_id, scope, version, wrapped in rows:
            keys[scope] = (key_id, await self.unwrap(key_id, scope, version, wrapped))
        created = now_us()
        new_rows = []
        for scope in scopes - keys.keys():
            key_id, dek, wrapped_key = fresh[scope] if scope in fresh else await self._new(scope)
            new_rows.append(
                {
                    "key_id": key_id,
                    "scope": scope,
                    "kek_version": wrapped_key.version,
                    "wrapped": wrapped_key.blob,
                    "created_us": created,
                }
            )
            keys[scope] = (key_id, dek)
        if new_rows:
            await conn.execute(deks_table.insert(), new_rows)
        return keys

    def remember(self, keys: ScopeKeys) -> None:
        """Cache the keys a committed transaction used."""
        for scope, (key_id, dek) in keys.items():
            self._scopes[scope] = key_id
            self._deks.put(key_id, dek)

    def forget(self, key_ids: Iterable[str], scopes: Iterable[str]) -> None:
        """Drop deleted keys from the caches."""
        for key_id in key_ids:
            self._deks.discard(key_id)
        for scope in scopes:
            self._scopes.pop(scope, None)

    async def load(self, conn: AsyncConnection, key_id: str) -> bytes | None:
        """The data key ``key_id`` for reading, or None when it was deleted or cannot be unwrapped."""
        dek = self._deks.get(key_id)
        if dek is not None:
            return dek
        d = deks_table.c
        row = (
            await conn.execute(select(d.scope, d.kek_version, d.wrapped).where(d.key_id == key_id))
        ).first()
        if row is None:
            return None
        try:
            return await self.unwrap(key_id, row[0], row[1], row[2])
        except KeyUnavailable:
            return None


class StaleKeys(Exception):
    """Under the append lock, some scopes' stored keys are not the ones resolved before it
    (another process created or shredded them meanwhile): resolve those scopes again and retry."""

    def __init__(self, scopes: set[str]) -> None:
        super().__init__(f"{len(scopes)} data key scopes changed")
        self.scopes = scopes


def settle_scope_keys(
    stored: dict[str, str], scopes: set[str], known: ScopeKeys, fresh: FreshKeys, created_us: int
) -> tuple[ScopeKeys, list[dict[str, object]]]:
    """Under the append lock: the key of every scope and the ``audit_deks`` rows to insert.

    ``stored`` maps scope -> key id as the database has it now. A known key must be the stored one;
    a scope with no stored key takes its fresh key. Anything else raises :class:`StaleKeys`."""
    keys: ScopeKeys = {}
    new_rows: list[dict[str, object]] = []
    stale: set[str] = set()
    for scope in scopes:
        stored_id = stored.get(scope)
        if stored_id is not None:
            if scope in known and known[scope][0] == stored_id:
                keys[scope] = known[scope]
            else:
                stale.add(scope)
        elif scope in fresh:
            key_id, dek, wrapped_key = fresh[scope]
            keys[scope] = (key_id, dek)
            new_rows.append(
                {
                    "key_id": key_id,
                    "scope": scope,
                    "kek_version": wrapped_key.version,
                    "wrapped": wrapped_key.blob,
                    "created_us": created_us,
                }
            )
        else:
            stale.add(scope)
    if stale:
        raise StaleKeys(stale)
    return keys, new_rows
