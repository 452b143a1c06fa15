"""A 1,000-token streamed answer, side by side: engine alone, gateway with filtering off, gateway
with the output filter on (default rules, leaked-PII detection, names by the name rules), the
same without names (``pii.stream_names`` off), and with ``pii.stream_ner``.

The simulator serves a scripted answer of 1,000 chunks (clinical prose with numbers, no artificial
delay) so the stream is as fast as the engine can send it; any time the gateway adds per chunk shows.
"Filtering off" is the same gateway with an output policy that has no rules and no secret patterns
and with PII detection disabled (the prompt has no personal data; with PII on it is a cache hit
after the warm-up, ~0.07 ms). Reports, per path: time to first content chunk, total stream time,
time per chunk; and what the filter adds against "filtering off". The filter's own cost per chunk
in process is in ``bench/output_filter.py``.

    .venv/bin/python bench/stream_e2e.py --runs 20
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

from bench.output_filter import make_chunks  # noqa: E402
from tests.conftest import MODEL, start_gateway, start_simulator, stop  # noqa: E402


def one_stream(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, float, int]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Summarize the discharge plan."}],
        "stream": True,
    }
    started = time.perf_counter()
    first = 0.0
    chunks = 0
    with client.stream("POST", url + "/v1/chat/completions", json=body, headers=headers) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            if '"content":"' in line and '"content":""' not in line:
                chunks += 1
                if not first:
                    first = time.perf_counter() - started
    return first * 1000, (time.perf_counter() - started) * 1000, chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=1000)
    args = parser.parse_args()
    script = [[c for c in make_chunks(args.tokens) if "sk" not in c]]
    with tempfile.TemporaryDirectory() as tmp:
        script_path = Path(tmp) / "script.json"
        script_path.write_text(json.dumps(script))
        sim = start_simulator("--mode", "script", "--script", str(script_path))
        policy_dir = Path(tmp) / "no-filter-policy"
        policy_dir.mkdir()
        (policy_dir / "output.yaml").write_text(NO_FILTER_POLICY)
        gateways = {
            "gateway_filter_off": start_gateway(
                _dir(tmp, "off"), sim.url, {"GATEWAY_PII__ENABLED": "false"}, "--policy-dir", str(policy_dir)
            ),
            "gateway_identifiers_only": start_gateway(
                _dir(tmp, "ids"), sim.url, {"GATEWAY_PII__STREAM_NAMES": "false"}
            ),
            "gateway": start_gateway(_dir(tmp, "on"), sim.url),
            "gateway_stream_ner": start_gateway(
                _dir(tmp, "ner"), sim.url, {"GATEWAY_PII__STREAM_NER": "true"}
            ),
        }
        try:
            paths = [("engine_alone", sim.url, {})]
            for name, gw in gateways.items():
                paths.append((name, gw.url, {"Authorization": f"Bearer {gw.create_key('service')}"}))
            results: dict[str, dict[str, float]] = {}
            with httpx.Client(timeout=60, trust_env=False) as client:
                for name, url, headers in paths:
                    one_stream(client, url, headers)  # warm-up
                    runs = [one_stream(client, url, headers) for _ in range(args.runs)]
                    ttft = statistics.median(r[0] for r in runs)
                    total = statistics.median(r[1] for r in runs)
                    chunks = statistics.median(r[2] for r in runs)
                    results[name] = {
                        "ttft_ms": round(ttft, 2),
                        "total_ms": round(total, 2),
                        "content_chunks": chunks,
                        "ms_per_chunk": round(total / args.tokens, 4),
                    }
            for name, base in (
                ("gateway_filter_off", "engine_alone"),
                ("gateway", "gateway_filter_off"),
                ("gateway", "gateway_identifiers_only"),
                ("gateway_stream_ner", "gateway_filter_off"),
            ):
                results[f"added_by_{name}_vs_{base}"] = {
                    "ttft_ms": round(results[name]["ttft_ms"] - results[base]["ttft_ms"], 2),
                    "ms_per_chunk": round(results[name]["ms_per_chunk"] - results[base]["ms_per_chunk"], 4),
                }
            print(json.dumps(results, indent=2))
        finally:
            for gw in gateways.values():
                stop(gw.proc)
            stop(sim.proc)


def _dir(tmp: str, name: str) -> Path:
    path = Path(tmp) / name
    path.mkdir()
    return path


NO_FILTER_POLICY = """
output:
  secrets:
    openai_api_key: "off"
    gateway_api_key: "off"
    aws_access_key_id: "off"
    github_token: "off"
    private_key: "off"
    connection_string_password: "off"
    jwt: "off"
  rules: []
  topics: null
  role_topics: null
"""


if __name__ == "__main__":
    main()
