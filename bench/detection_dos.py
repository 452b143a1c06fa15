"""Denial of service through detection (issue 18, item 10): one principal's huge bodies against
another principal's small request, on a real gateway process with its default PII settings.

Usage: .venv/bin/python bench/detection_dos.py [--chars 490000] [--requests 2] [--wait-s 300]

Principal A sends ``--requests`` bodies of one ``--chars``-character message at once; half a
second later principal B sends a 40-character prompt. Printed: each answer's status and time,
how long the gateway kept burning CPU after A's last answer (detection that nobody waits for),
the gateway's peak resident memory, and B's latency. Run it in a checkout of the code to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.conftest import MODEL, start_gateway, start_simulator, stop

LINE = "Patient John Smith, phone 212-555-0134, was seen today and is doing well.\n"
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _until_idle(pid: int, started: float, limit_s: float) -> float:
    """Seconds from ``started`` until the process used under 10% of a core over half a second."""
    previous = _cpu_s(pid)
    while time.perf_counter() - started < limit_s:
        await asyncio.sleep(0.5)
        current = _cpu_s(pid)
        if current - previous < 0.05:
            return time.perf_counter() - started - 0.5
        previous = current
    return float("inf")


async def scenario(
    url: str, pid: int, keys: dict[str, str], chars: int, requests: int, wait_s: float
) -> dict[str, Any]:
    text = (LINE * (chars // len(LINE) + 1))[:chars]
    big = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    small = {"model": MODEL, "messages": [{"role": "user", "content": "What is the usual adult dose?"}]}
    auth = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=300) as client:

        async def timed(who: str, body: dict[str, Any]) -> tuple[int, float, float]:
            sent = time.perf_counter()
            response = await client.post("/v1/chat/completions", headers=auth[who], json=body)
            return response.status_code, time.perf_counter() - sent, time.perf_counter()

        started = time.perf_counter()
        attack = [asyncio.create_task(timed("a", big)) for _ in range(requests)]
        await asyncio.sleep(0.5)
        victim = await timed("b", small)
        answers = await asyncio.gather(*attack)
    last_answer = max(done for _, _, done in answers)
    busy_after = await _until_idle(pid, last_answer, wait_s)
    return {
        "a": [(status, round(seconds, 2)) for status, seconds, _ in answers],
        "b": (victim[0], round(victim[1], 2)),
        "cpu_after_last_answer_s": round(busy_after, 1),
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(_peak_rss_mb(pid)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chars", type=int, default=490_000)
    parser.add_argument("--requests", type=int, default=2)
    parser.add_argument("--wait-s", type=float, default=300.0, help="longest wait for the CPU to go idle")
    args = parser.parse_args()
    sim = start_simulator()
    with tempfile.TemporaryDirectory() as tmp:
        gw = start_gateway(Path(tmp), sim.url)
        try:
            keys = {name: gw.create_key("service") for name in ("a", "b")}
            print(f"gateway idle: peak RSS {_peak_rss_mb(gw.proc.pid):.0f} MB")
            result = asyncio.run(scenario(gw.url, gw.proc.pid, keys, args.chars, args.requests, args.wait_s))
        finally:
            stop(gw.proc)
            stop(sim.proc)
    print(f"A: {args.requests} x {args.chars:,} characters -> (status, s) {result['a']}")
    print(f"B: small prompt -> status {result['b'][0]} after {result['b'][1]} s")
    print(f"gateway CPU busy for {result['cpu_after_last_answer_s']} s after A's last answer")
    print(f"gateway peak RSS {result['peak_rss_mb']} MB; scenario wall time {result['wall_s']} s")


if __name__ == "__main__":
    main()
