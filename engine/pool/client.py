"""The engine client over a :class:`WorkerPool`: every attempt takes a slot from the pool, and its
outcome feeds the worker's circuit breaker.

A subclass of ``engine.client.EngineClient`` that replaces how a worker is chosen (``_post``,
``_ordered_workers``) and what ``healthy`` means, and keeps the rest (session, decoding, SSE). It
is a seam while ``engine/client.py`` is being reworked elsewhere; the loop in ``_post`` belongs in
``EngineClient._post`` itself (docs/engine.md).

Retries: only when the worker could not be reached or closed the connection before any answer
(connect refused, connect timeout, reset before the status line). A read timeout before the answer
starts is not retried (the worker may be generating), nor is anything after the first byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from engine.client import EngineClient, EngineConfig
from engine.errors import EngineBadResponse, EngineRejected, EngineUnavailable
from engine.pool.pool import Outcome, PoolConfig, PoolStatus, Sleep, WorkerPool
from engine.pool.probe import http_probe


class PooledEngineClient(EngineClient):
    """``EngineClient`` whose worker choice, retries and health come from a :class:`WorkerPool`."""

    def __init__(
        self,
        config: EngineConfig,
        pool_config: PoolConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(config)
        scrape = pool_config.metrics_weighting and pool_config.mode == "pool"
        probe = http_probe(self._http, pool_config.health_timeout_s, scrape_metrics=scrape)
        #: Health, circuits and load of the upstreams (``status()`` for /readyz and the CLI).
        self.pool = WorkerPool(pool_config, probe, clock=clock, sleep=sleep)

    def pool_status(self) -> PoolStatus:
        """The pool's state now (no URLs with credentials, no request content)."""
        return self.pool.status()

    async def aclose(self) -> None:
        await self.pool.aclose()
        await super().aclose()

    async def healthy(self) -> bool:
        """True when at least one upstream passed its last health check and its circuit is not open."""
        await self.pool.start()
        return self.pool.status().healthy > 0

    def _ordered_workers(self) -> list[Any]:
        # For GET routes (model list, info): available workers first, least loaded first.
        states = {w.url: w for w in self.pool.workers}
        use_metrics = self.pool.config.metrics_weighting

        def rank(worker: Any) -> tuple[bool, float]:
            state = states.get(worker.url)
            if state is None:
                return (True, 0.0)
            return (not state.available(), state.load(use_metrics))

        return sorted(self._workers, key=rank)

    @contextlib.asynccontextmanager
    async def _post(
        self, path: str, content: bytes, headers: dict[str, str]
    ) -> AsyncIterator[tuple[aiohttp.ClientResponse, str]]:
        """The response (its headers read) of the first worker that answers, and that worker's URL."""
        await self.pool.start()
        http = self._http()
        tried: set[str] = set()
        while True:
            lease = await self.pool.acquire(tried)
            url = lease.url
            try:
                response = await http.post(url + path, data=content, headers=headers, allow_redirects=False)
            except aiohttp.SocketTimeoutError as exc:
                self.pool.release(lease, "failed", "timeout")
                raise EngineUnavailable(f"engine worker {url} timed out") from exc
            except aiohttp.ClientError as exc:
                # Not reached, refused, or closed before any answer: another worker may serve it.
                self.pool.release(lease, "failed", _error_word(exc))
                tried.add(url)
                continue
            except BaseException:
                self.pool.release(lease, "none")
                raise
            outcome: Outcome = "failed" if response.status >= 500 else "ok"
            error = f"status_{response.status}" if response.status >= 500 else None
            try:
                yield response, url
            except EngineRejected:
                raise
            except (EngineUnavailable, EngineBadResponse):
                outcome, error = "failed", error or "broken"
                raise
            except BaseException:
                # The caller went away or failed on its side: no verdict on the worker.
                outcome = "none" if outcome == "ok" else outcome
                raise
            finally:
                response.release()
                self.pool.release(lease, outcome, error)
            return


def _error_word(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "connect_timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "refused"
    return "broken"
