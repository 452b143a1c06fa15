"""The engine's model list is cached: refreshed when stale, looked up again on a miss at most once per
interval (a burst of made-up names cannot hammer the engine), and never guessed (fail closed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.errors import EngineUnavailable
from engine.models import ModelCatalog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeEngine:
    """Answers ``GET /v1/models`` with ``served``; ``down`` makes it unreachable."""

    def __init__(self, *served: str) -> None:
        self.served = list(served)
        self.calls = 0
        self.down = False
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise EngineUnavailable("no engine worker reachable")
        return {"object": "list", "data": [{"id": name, "object": "model"} for name in self.served]}


def catalog(engine: FakeEngine, clock: Clock) -> ModelCatalog:
    return ModelCatalog(engine, refresh_s=30.0, miss_refresh_s=2.0, clock=clock)


async def test_served_names_are_found_from_one_cached_listing() -> None:
    engine, clock = FakeEngine("org/a", "org/b"), Clock()
    models = catalog(engine, clock)
    assert await models.is_served("org/a") and await models.is_served("org/b")
    assert [card["id"] for card in await models.cards()] == ["org/a", "org/b"]
    assert engine.calls == 1


async def test_the_listing_is_refreshed_when_stale() -> None:
    engine, clock = FakeEngine("org/a"), Clock()
    models = catalog(engine, clock)
    await models.cards()
    engine.served = ["org/b"]
    clock.now += 29
    assert [c["id"] for c in await models.cards()] == ["org/a"]
    clock.now += 1
    assert [c["id"] for c in await models.cards()] == ["org/b"]
    assert engine.calls == 2


async def test_a_miss_looks_again_at_most_once_per_interval() -> None:
    engine, clock = FakeEngine("org/a"), Clock()
    models = catalog(engine, clock)
    assert not await models.is_served("gpt-4")
    assert engine.calls == 1  # the first listing was just fetched: no second look-up
    for _ in range(50):
        assert not await models.is_served("gpt-4")
    assert engine.calls == 1
    engine.served.append("org/new")
    clock.now += 2
    assert await models.is_served("org/new")  # a model loaded a moment ago is found
    assert engine.calls == 2


async def test_a_concurrent_burst_of_unknown_names_costs_one_look_up() -> None:
    engine, clock = FakeEngine("org/a"), Clock()
    models = catalog(engine, clock)
    await models.cards()
    clock.now += 5
    engine.gate = asyncio.Event()
    burst = asyncio.gather(*(models.is_served(f"bogus-{i}") for i in range(200)))
    await asyncio.sleep(0)
    engine.gate.set()
    assert not any(await burst)
    assert engine.calls == 2


async def test_no_listing_and_no_engine_is_unavailable_not_accepted() -> None:
    engine, clock = FakeEngine("org/a"), Clock()
    engine.down = True
    models = catalog(engine, clock)
    for _ in range(20):
        with pytest.raises(EngineUnavailable):
            await models.is_served("org/a")
    assert engine.calls == 1  # attempts are spaced out too
    engine.down = False
    clock.now += 2
    assert await models.is_served("org/a")


async def test_a_cached_listing_outlives_an_engine_outage() -> None:
    engine, clock = FakeEngine("org/a"), Clock()
    models = catalog(engine, clock)
    await models.cards()
    engine.down = True
    clock.now += 60
    assert await models.is_served("org/a")
    assert not await models.is_served("org/b")


@pytest.mark.parametrize("listing", [{"data": "nope"}, {}, {"error": {"message": "x"}}])
async def test_a_malformed_listing_is_no_listing(listing: dict[str, Any]) -> None:
    async def fetch() -> dict[str, Any]:
        return listing

    with pytest.raises(EngineUnavailable):
        await ModelCatalog(fetch, clock=Clock()).is_served("org/a")


async def test_cards_without_a_name_are_ignored() -> None:
    async def fetch() -> dict[str, Any]:
        return {"data": [{"id": 5}, {"id": ""}, "org/a", {"id": "org/b"}]}

    models = ModelCatalog(fetch, clock=Clock())
    assert [c["id"] for c in await models.cards()] == ["org/b"]
    assert not await models.is_served("5") and not await models.is_served("org/a")
