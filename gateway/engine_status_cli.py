"""``gateway engine status``: each engine upstream's health, load and circuit.

Two sources, because the circuit breakers live inside each gateway process:

- default: this command probes the configured upstreams itself (``engine.urls``, or
  ``--engine-url``), with the gateway's own health check (``GET /health``, and the load gauges
  from ``GET /metrics``). It needs no running gateway; circuits show as ``-``.
- ``--gateway URL``: asks that running gateway's ``GET /admin/engine`` (permission
  ``engine:manage``) for its view, circuits and requests in flight included. The API key is read
  from the ``GW_ADMIN_KEY`` environment variable (not ``GATEWAY_*``: those are settings), never
  from a flag (flags show in ``ps``).

URLs are shown without user info. Exit status: 0 when at least one upstream is healthy, 1 when
none is, 2 when the gateway cannot be asked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from gateway.settings import Settings

ADMIN_KEY_ENV = "GW_ADMIN_KEY"


async def probe_upstreams(settings: Settings, urls: tuple[str, ...]) -> dict[str, Any]:
    """One round of the gateway's health check over ``urls``, as ``GET /admin/engine`` shapes it."""
    import aiohttp

    from engine.pool import PoolConfig, WorkerPool
    from engine.pool.probe import http_probe
    from gateway.routes.health import engine_status

    engine = settings.engine
    config = PoolConfig(
        urls=urls,
        mode=engine.mode,
        health_timeout_s=engine.health_timeout_s,
        metrics_weighting=engine.metrics_weighting,
    )
    headers = {"Authorization": f"Bearer {engine.api_key}"} if engine.api_key else None
    async with aiohttp.ClientSession(headers=headers, trust_env=False) as session:
        probe = http_probe(lambda: session, engine.health_timeout_s, scrape_metrics=True)
        pool = WorkerPool(config, probe)
        await pool.check_all()
        status = engine_status(pool.status())
    out = _as_dict(status)
    for worker in out["workers"]:
        worker["circuit"] = "-"  # breakers live in each gateway process: ask one with --gateway
    return out


def ask_gateway(base_url: str, key: str) -> dict[str, Any]:
    """The running gateway's ``GET /admin/engine``."""
    import httpx

    response = httpx.get(
        base_url.rstrip("/") + "/admin/engine",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
        trust_env=False,
    )
    if response.status_code != 200:
        raise RuntimeError(f"the gateway answered {response.status_code}")
    data: dict[str, Any] = response.json()
    return data


def render(status: dict[str, Any]) -> str:
    """A table of the upstreams, one line each."""
    lines = [
        f"mode {status['mode']}: {status['healthy']} of {status['total']} healthy, "
        f"{status['waiting']} waiting"
    ]
    lines.append(
        f"{'URL':<40} {'HEALTH':<9} {'CIRCUIT':<10} {'IN FLIGHT':>9} {'RUNNING':>8} {'QUEUED':>7}  ERROR"
    )
    for w in status["workers"]:
        health = ("healthy" if w["healthy"] else "down") if w["checked"] else "unknown"
        lines.append(
            f"{w['url']:<40} {health:<9} {w['circuit']:<10} {w['in_flight']:>9} "
            f"{_gauge(w['running']):>8} {_gauge(w['queued']):>7}  {w['last_error'] or '-'}"
        )
    return "\n".join(lines)


def _gauge(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _as_dict(status: Any) -> dict[str, Any]:
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(status)
    return data


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.gateway:
        key = os.environ.get(ADMIN_KEY_ENV, "")
        if not key:
            print(f"error: set {ADMIN_KEY_ENV} to an API key with engine:manage", file=sys.stderr)
            return 2
        try:
            status = ask_gateway(args.gateway, key)
        except Exception as exc:  # the reason, never the key
            print(f"error: cannot ask the gateway: {type(exc).__name__}", file=sys.stderr)
            return 2
    else:
        urls = tuple(args.engine_url or settings.engine.urls)
        if not urls:
            print("error: no engine URL configured (engine.urls or --engine-url)", file=sys.stderr)
            return 2
        status = asyncio.run(probe_upstreams(settings, urls))
    print(json.dumps(status) if args.json else render(status))
    return 0 if status["healthy"] else 1


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``status`` to the ``gateway engine`` subcommands ``sub``."""
    status = sub.add_parser("status", help="health, load and circuit of each engine upstream")
    common(status)
    status.add_argument("--engine-url", action="append", help="probe this upstream (repeatable)")
    status.add_argument(
        "--gateway", help=f"ask this running gateway's /admin/engine (key in ${ADMIN_KEY_ENV})"
    )
    status.set_defaults(handler=_cmd_status)
