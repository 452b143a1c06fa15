"""Added latency of the gateway against the engine alone, side by side in one run.

Starts one simulator (ttft 0, tpot 0) and gateways in front of it (PII on, PII off), then sends the
same requests directly to the simulator and through each gateway, sequentially (concurrency 1), and
prints p50/p90/p99 of each and the difference. Also a streaming run for time to first token.

    .venv/bin/python bench/gateway_latency.py --requests 300
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import MODEL, start_gateway, start_simulator, stop  # noqa: E402

PROMPT = (
    "Patient John Smith (MRN-0012345), phone 415-555-0132, email john.smith@example.org, "
    "reports dizziness after starting Metformin 500 mg; HbA1c 7.2%. Please draft a short reply."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(client: httpx.Client, url: str, headers: dict[str, str], n: int, stream: bool) -> list[float]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
        "max_tokens": 64,
    }
    out: list[float] = []
    for i in range(n + 10):
        body["messages"][0]["content"] = PROMPT + f" ({i})"  # new text each time: no cache hits
        started = time.perf_counter()
        if stream:
            elapsed = 0.0
            with client.stream("POST", url + "/v1/chat/completions", json=body, headers=headers) as response:
                for line in response.iter_lines():
                    first = line.startswith("data:") and '"content":"' in line and '"content":""' not in line
                    if first and not elapsed:
                        elapsed = time.perf_counter() - started
        else:
            response = client.post(url + "/v1/chat/completions", json=body, headers=headers)
            response.raise_for_status()
            elapsed = time.perf_counter() - started
        if i >= 10:  # warm-up
            out.append(elapsed * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    sim = start_simulator()
    gateways = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for sub in ("on", "off"):
                (Path(tmp) / sub).mkdir()
            gateways["pii_on"] = start_gateway(Path(tmp) / "on", sim.url)
            gateways["pii_off"] = start_gateway(Path(tmp) / "off", sim.url, {"GATEWAY_PII__ENABLED": "false"})
            (Path(tmp) / "on_no_answer_ner").mkdir()
            gateways["pii_on_no_answer_ner"] = start_gateway(
                Path(tmp) / "on_no_answer_ner", sim.url, {"GATEWAY_PII__ANSWER_NER": "false"}
            )
            keys = {name: gw.create_key("service") for name, gw in gateways.items()}
            results: dict[str, dict[str, float]] = {}
            with httpx.Client(timeout=30, trust_env=False) as client:
                for stream in (False, True):
                    label = "stream_ttft" if stream else "non_stream"
                    base = run(client, sim.url, {}, args.requests, stream)
                    results[f"engine_alone/{label}"] = _summary(base)
                    for name, gw in gateways.items():
                        values = run(
                            client, gw.url, {"Authorization": f"Bearer {keys[name]}"}, args.requests, stream
                        )
                        results[f"gateway_{name}/{label}"] = _summary(values)
                        results[f"added_{name}/{label}"] = {
                            "p50": round(statistics.median(values) - statistics.median(base), 2)
                        }
            print(json.dumps(results, indent=2))
    finally:
        for gw in gateways.values():
            stop(gw.proc)
        stop(sim.proc)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p90": round(percentile(values, 0.9), 2),
        "p99": round(percentile(values, 0.99), 2),
        "n": len(values),
    }


if __name__ == "__main__":
    main()
