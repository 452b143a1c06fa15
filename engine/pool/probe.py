"""The active health check over HTTP: ``GET /health`` and, for load weighting, ``GET /metrics``."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from engine.pool.metrics import parse_load
from engine.pool.pool import Probe, ProbeResult

#: A metrics page larger than this is not read (SGLang's is a few tens of KiB).
MAX_METRICS_BYTES = 1 << 20


def http_probe(
    session: Callable[[], aiohttp.ClientSession], timeout_s: float, *, scrape_metrics: bool
) -> Probe:
    """A probe over the client's shared session (its Authorization header included: SGLang does not
    ask for it on these routes, a router started with ``--api-key`` may). Health is ``GET /health``
    answering 200; the gauges are read only from a healthy worker, and a metrics failure never makes
    it unhealthy."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def probe(url: str) -> ProbeResult:
        http = session()
        try:
            async with http.get(url + "/health", timeout=timeout, allow_redirects=False) as response:
                await response.read()
                if response.status != 200:
                    return ProbeResult(False, f"status_{response.status}")
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except aiohttp.ClientConnectorError:
            return ProbeResult(False, "refused")
        except aiohttp.ClientError:
            return ProbeResult(False, "broken")
        if not scrape_metrics:
            return ProbeResult(True)
        try:
            async with http.get(url + "/metrics", timeout=timeout, allow_redirects=False) as response:
                if response.status != 200:
                    return ProbeResult(True)
                raw = await response.content.read(MAX_METRICS_BYTES)
        except (TimeoutError, aiohttp.ClientError):
            return ProbeResult(True)
        load = parse_load(raw.decode("utf-8", errors="replace"))
        return ProbeResult(True, running=load.running, queued=load.queued)

    return probe
