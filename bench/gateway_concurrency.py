"""Throughput and failures at concurrency 16 and 64, engine alone vs through the gateway.

.venv/bin/python bench/gateway_concurrency.py --requests 640
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_latency import PROMPT  # noqa: E402
from tests.conftest import MODEL, start_gateway, start_simulator, stop  # noqa: E402


async def load(url: str, headers: dict[str, str], total: int, concurrency: int) -> dict[str, float]:
    failures = 0
    statuses: dict[str, int] = {}
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:

        async def worker() -> None:
            nonlocal failures
            for i in counter:
                body = {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": f"{PROMPT} ({concurrency}-{i})"}],
                    "max_tokens": 64,
                }
                try:
                    response = await client.post(url + "/v1/chat/completions", json=body, headers=headers)
                    failures += response.status_code != 200
                    label = str(response.status_code)
                    if response.status_code != 200:
                        label += f" {_error_code(response)}"
                    statuses[label] = statuses.get(label, 0) + 1
                except httpx.HTTPError:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests_per_s": round(total / elapsed, 1),
        "failures": failures,
        "total": total,
        "statuses": statuses,
    }


def unlimited_service_policy(parent: Path) -> Path:
    """A site policy directory under ``parent`` that lifts the ``service`` role's rate limits (600
    requests a minute by default), for load runs."""
    site = parent / "site"
    site.mkdir()
    (site / "roles.yaml").write_text(
        "roles:\n  service:\n    requests_per_minute: null\n    tokens_per_day: null\n"
    )
    return site


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=640)
    args = parser.parse_args()
    sim = start_simulator()
    with tempfile.TemporaryDirectory() as tmp:
        site = unlimited_service_policy(Path(tmp))
        gw = start_gateway(Path(tmp), sim.url, None, "--policy-dir", str(site))
        try:
            key = gw.create_key("service")
            results = {}
            for concurrency in (16, 64):
                results[f"engine_alone/c{concurrency}"] = asyncio.run(
                    load(sim.url, {}, args.requests, concurrency)
                )
                results[f"gateway/c{concurrency}"] = asyncio.run(
                    load(gw.url, {"Authorization": f"Bearer {key}"}, args.requests, concurrency)
                )
            print(json.dumps(results, indent=2))
        finally:
            stop(gw.proc)
            stop(sim.proc)


if __name__ == "__main__":
    main()
