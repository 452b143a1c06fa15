"""API key store on a real database: SQLite always, PostgreSQL when reachable (unique schema per test)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.auth.errors import AuthenticationError, KeyNotFoundError, KeyStateError
from gateway.auth.keys import KeyStore
from gateway.migrations import VERSION_TABLE, migrate

PEPPER = b"p" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
        await migrate(eng)
        yield eng
        await eng.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except OSError:
        await admin.dispose()
        pytest.skip("PostgreSQL at 127.0.0.1:5432 refused the connection")
    eng = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    await migrate(eng)
    try:
        yield eng
    finally:
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: AsyncEngine, clock: Clock) -> KeyStore:
    return KeyStore(engine, PEPPER, timedelta(hours=24), clock=clock)


async def test_created_key_authenticates_with_its_roles_tenant_and_models(store: KeyStore) -> None:
    record, key = await store.create("billing app", ["service"], "bank-a", None, ["deepseek-v3"])
    assert key.startswith(f"gw_{record.prefix}_")
    principal = await store.authenticate(key)
    assert principal.id == record.id and principal.key_id == record.id
    assert principal.roles == ("service",)
    assert principal.tenant == "bank-a"
    assert principal.models == ("deepseek-v3",)
    assert principal.auth_method == "api_key"


async def test_key_carries_at_least_256_bits_of_randomness(store: KeyStore) -> None:
    _, key = await store.create("k", ["service"])
    secret = key.split("_", 2)[2]
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32


@pytest.mark.parametrize("mutate", ["flip_last", "other_prefix", "truncated", "not_a_key"])
async def test_wrong_or_malformed_key_is_refused(store: KeyStore, mutate: str) -> None:
    _, key = await store.create("k", ["service"])
    bad = {
        "flip_last": key[:-1] + ("A" if key[-1] != "A" else "B"),
        "other_prefix": "gw_zzzzzzzz_" + key.split("_", 2)[2],
        "truncated": key[:-2],
        "not_a_key": "hello",
    }[mutate]
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(bad)
    assert exc.value.code == "invalid_key"


async def test_revoked_key_is_refused(store: KeyStore) -> None:
    record, key = await store.create("k", ["service"])
    revoked = await store.revoke(record.id)
    assert revoked.status() == "revoked"
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(key)
    assert exc.value.code == "revoked"
    assert (await store.revoke(record.id)).revoked_at == revoked.revoked_at


async def test_expired_key_is_refused(store: KeyStore, clock: Clock) -> None:
    _, key = await store.create("k", ["service"], expires_in=timedelta(days=90))
    clock.advance(timedelta(days=89))
    await store.authenticate(key)
    clock.advance(timedelta(days=1))
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(key)
    assert exc.value.code == "expired"


async def test_wrong_secret_of_revoked_key_says_invalid_not_revoked(store: KeyStore) -> None:
    record, key = await store.create("k", ["service"])
    await store.revoke(record.id)
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert exc.value.code == "invalid_key"


async def test_rotation_keeps_id_and_old_secret_works_only_during_grace(
    store: KeyStore, clock: Clock
) -> None:
    record, old = await store.create("k", ["service"])
    rotated, new = await store.rotate(record.id)
    assert rotated.id == record.id and rotated.prefix == record.prefix
    assert new != old
    assert rotated.previous_valid_until == clock.now + timedelta(hours=24)
    assert (await store.authenticate(old)).id == record.id
    assert (await store.authenticate(new)).id == record.id
    clock.advance(timedelta(hours=24))
    with pytest.raises(AuthenticationError):
        await store.authenticate(old)
    assert (await store.authenticate(new)).id == record.id


async def test_cached_previous_secret_still_stops_at_the_end_of_its_grace(
    engine: AsyncEngine, clock: Clock
) -> None:
    # The cache outlives the grace: the grace deadline, read from the injected clock, still decides.
    store = KeyStore(engine, PEPPER, timedelta(seconds=2), cache_ttl=timedelta(hours=1), clock=clock)
    record, old = await store.create("k", ["service"])
    _, new = await store.rotate(record.id)
    assert (await store.authenticate(old)).id == record.id
    clock.advance(timedelta(seconds=1.999))
    assert (await store.authenticate(old)).id == record.id
    clock.advance(timedelta(seconds=0.001))
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(old)
    assert exc.value.code == "invalid_key"
    assert (await store.authenticate(new)).id == record.id


async def test_second_rotation_ends_the_first_secrets_grace(store: KeyStore) -> None:
    record, first = await store.create("k", ["service"])
    _, second = await store.rotate(record.id)
    _, third = await store.rotate(record.id)
    with pytest.raises(AuthenticationError):
        await store.authenticate(first)
    await store.authenticate(second)
    await store.authenticate(third)


async def test_zero_grace_rotation_invalidates_old_secret_at_once(engine: AsyncEngine) -> None:
    store = KeyStore(engine, PEPPER, timedelta(0))
    record, old = await store.create("k", ["service"])
    await store.rotate(record.id)
    with pytest.raises(AuthenticationError):
        await store.authenticate(old)


async def test_revocation_also_kills_the_previous_secret(store: KeyStore) -> None:
    record, old = await store.create("k", ["service"])
    _, new = await store.rotate(record.id)
    await store.revoke(record.id)
    for key in (old, new):
        with pytest.raises(AuthenticationError):
            await store.authenticate(key)


async def test_revoked_key_cannot_be_rotated_and_unknown_id_is_not_found(store: KeyStore) -> None:
    record, _ = await store.create("k", ["service"])
    await store.revoke(record.id)
    with pytest.raises(KeyStateError):
        await store.rotate(record.id)
    with pytest.raises(KeyNotFoundError):
        await store.rotate("nope")
    with pytest.raises(KeyNotFoundError):
        await store.revoke("nope")


async def test_list_pages_in_creation_order_without_secrets(store: KeyStore) -> None:
    created = [await store.create(f"k{i}", ["service"]) for i in range(3)]
    listed = await store.list()
    assert [r.id for r in listed] == [r.id for r, _ in created]
    page1 = await store.list(limit=2)
    page2 = await store.list(limit=2, after=page1[-1].id)
    assert [r.id for r in page1 + page2] == [r.id for r in listed]
    for record in listed:
        text = repr(record) + repr(record.to_dict())
        assert "hash" not in text.replace("previous_valid_until", "")
        assert all(key not in text for _, key in created)


async def test_database_never_contains_a_usable_key(
    store: KeyStore, engine: AsyncEngine, tmp_path: Path
) -> None:
    record, key1 = await store.create("k", ["service"])
    _, key2 = await store.rotate(record.id)
    _, key3 = await store.create("other", ["clinician"], expires_in=timedelta(days=1))
    secrets = []
    for key in (key1, key2, key3):
        secret = key.split("_", 2)[2]
        raw = base64.urlsafe_b64decode(secret + "=")
        secrets += [key, secret, raw.hex(), base64.b64encode(raw).decode().rstrip("=")]
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "gateway_api_keys" in tables and VERSION_TABLE in tables
        dump = ""
        for table in tables:
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{table}"'))).all()
            dump += repr(rows)
    assert record.prefix in dump  # the scan does see the rows
    for value in secrets:
        assert value not in dump
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        raw_files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("keys.db"))
        for value in secrets:
            assert value.encode() not in raw_files


async def test_different_pepper_cannot_authenticate_stored_keys(engine: AsyncEngine) -> None:
    _, key = await KeyStore(engine, PEPPER).create("k", ["service"])
    with pytest.raises(AuthenticationError):
        await KeyStore(engine, b"q" * 32).authenticate(key)


async def test_migration_is_idempotent(engine: AsyncEngine) -> None:
    await migrate(engine)
    async with engine.connect() as conn:
        version = (await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar_one()
    assert version == "0001_api_keys"


def test_short_pepper_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError):
        KeyStore(eng, b"short")
    assert "p" * 32 not in repr(KeyStore(eng, PEPPER))


@pytest.mark.parametrize(
    ("name", "roles", "expires"),
    [("", ["service"], None), ("k", [], None), ("k", ["service"], timedelta(0)), ("a\nb", ["service"], None)],
)
async def test_create_validates_its_arguments(
    store: KeyStore, name: str, roles: list[str], expires: timedelta
) -> None:
    with pytest.raises(ValueError):
        await store.create(name, roles, expires_in=expires)


async def test_revocation_by_another_replica_takes_effect_within_the_cache_ttl(engine: AsyncEngine) -> None:
    replica_a = KeyStore(engine, PEPPER, cache_ttl=timedelta(seconds=0.3))
    replica_b = KeyStore(engine, PEPPER)
    record, key = await replica_a.create("k", ["service"])
    await replica_a.authenticate(key)
    await replica_b.revoke(record.id)
    await asyncio.sleep(0.35)
    with pytest.raises(AuthenticationError) as exc:
        await replica_a.authenticate(key)
    assert exc.value.code == "revoked"


async def test_without_cache_revocation_by_another_replica_is_immediate(engine: AsyncEngine) -> None:
    replica_a = KeyStore(engine, PEPPER, cache_ttl=timedelta(0))
    record, key = await replica_a.create("k", ["service"])
    await replica_a.authenticate(key)
    await KeyStore(engine, PEPPER).revoke(record.id)
    with pytest.raises(AuthenticationError):
        await replica_a.authenticate(key)


async def test_cached_key_still_expires_on_time(store: KeyStore, clock: Clock) -> None:
    _, key = await store.create("k", ["service"], expires_in=timedelta(hours=1))
    await store.authenticate(key)
    clock.advance(timedelta(hours=1))
    with pytest.raises(AuthenticationError) as exc:
        await store.authenticate(key)
    assert exc.value.code == "expired"


@pytest.mark.postgres
async def test_replicas_migrating_at_once_on_postgres_do_not_collide(postgres_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engines = [
        create_async_engine(postgres_url, connect_args={"server_settings": {"search_path": schema}})
        for _ in range(3)
    ]
    try:
        await asyncio.gather(*(migrate(e) for e in engines))
        _, key = await KeyStore(engines[0], PEPPER).create("k", ["service"])
        assert (await KeyStore(engines[1], PEPPER).authenticate(key)).roles == ("service",)
    finally:
        for e in engines:
            await e.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
