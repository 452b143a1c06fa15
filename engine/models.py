"""The models the engine serves, from its ``GET /v1/models``, cached.

A request may only name a model the engine lists (or a site alias, resolved by the gateway):
anything else is refused before it is recorded or forwarded. The listing is cached and refreshed
when it is older than ``refresh_s``; a name that is not in it triggers one more look-up, at most
once per ``miss_refresh_s``, so a model loaded a moment ago is found quickly while a burst of
made-up names costs the engine at most one request per interval. Concurrent refreshes share one
request. With no listing at all and no engine answering, nothing is accepted (fail closed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from engine.errors import EngineError, EngineUnavailable

log = structlog.get_logger("engine.models")

#: How old the cached listing may get before the next use refreshes it.
REFRESH_S = 30.0
#: At most one look-up per this interval for names the cached listing does not have (and after
#: a failed look-up).
MISS_REFRESH_S = 2.0

Fetch = Callable[[], Awaitable[Mapping[str, Any]]]


class ModelCatalog:
    """Cached ``GET /v1/models`` of the engine. ``clock`` is injectable so tests control time."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        refresh_s: float = REFRESH_S,
        miss_refresh_s: float = MISS_REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._cards: dict[str, dict[str, Any]] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def cards(self) -> list[dict[str, Any]]:
        """The engine's model cards (``{"id": ..., ...}``), refreshed when stale.

        Raises EngineUnavailable when there is no listing yet and the engine cannot give one.
        """
        if self._cards is None or self._clock() - self._fetched_at >= self._refresh_s:
            await self._refresh()
        return [dict(card) for card in self._require().values()]

    async def card(self, name: str) -> dict[str, Any] | None:
        """The card of ``name`` if the engine serves it, else None (after at most one look-up per
        ``miss_refresh_s`` for names not in the cached listing). Raises EngineUnavailable when
        there is no listing and the engine cannot give one."""
        await self.cards()
        found = self._require().get(name)
        if found is None:
            await self._refresh()
            found = self._require().get(name)
        return dict(found) if found is not None else None

    async def is_served(self, name: str) -> bool:
        """Whether the engine lists a model called exactly ``name``."""
        return await self.card(name) is not None

    def _require(self) -> dict[str, dict[str, Any]]:
        if self._cards is None:
            raise EngineUnavailable("the engine's model list is unavailable")
        return self._cards

    async def _refresh(self) -> None:
        """Fetch the listing, unless a look-up started less than ``miss_refresh_s`` ago (or
        while this caller waited for the lock): one request per interval, whatever the load."""
        requested_at = self._clock()
        async with self._lock:
            attempted = self._attempted_at
            if attempted is not None and (
                attempted >= requested_at or self._clock() - attempted < self._miss_refresh_s
            ):
                return
            self._attempted_at = self._clock()
            try:
                listing = await self._fetch()
            except EngineError as exc:
                # Keep serving the last listing: the engine being down is answered when the
                # request is forwarded. Without one, callers get EngineUnavailable (fail closed).
                log.warning("engine.models_unavailable", error_type=type(exc).__name__)
                return
            cards = _parse(listing)
            if cards is None:
                log.warning("engine.models_malformed")
                return
            self._cards = cards
            self._fetched_at = self._clock()


def _parse(listing: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    data = listing.get("data") if isinstance(listing, Mapping) else None
    if not isinstance(data, list):
        return None
    cards: dict[str, dict[str, Any]] = {}
    for card in data:
        if isinstance(card, dict) and isinstance(card.get("id"), str) and card["id"]:
            cards[card["id"]] = card
    return cards
