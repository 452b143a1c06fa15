"""Resident memory of one gateway process with its models loaded, after real traffic.

Starts the simulator and one gateway (PII on: spaCy and jieba loaded, default policies), sends
``--requests`` chat requests (English, Chinese and mixed text with personal data, half of them
streamed, each with new text) and reads the gateway's ``VmRSS`` and ``VmHWM`` (peak) from
``/proc``. Budget (docs/benchmarks.md, "Budgets"): at most 500 MB.

    .venv/bin/python bench/gateway_memory.py --requests 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_concurrency import unlimited_service_policy  # noqa: E402
from tests.conftest import MODEL, start_gateway, start_simulator, stop  # noqa: E402

TEXTS = (
    "Patient John Smith (MRN-0012345), phone 415-555-0132, reports dizziness on Metformin 500 mg ({i}).",
    "患者王建国，身份证号 11010519491231002X，手机 13812345678，血压 130/85 mmHg（{i}）。",
    "Customer Li Na, card 6222 0212 3456 7890 128, IBAN DE89 3704 0044 0532 0130 00, 请回电 ({i}).",
)


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    sim = start_simulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            site = unlimited_service_policy(Path(tmp))
            (Path(tmp) / "gw").mkdir()
            gw = start_gateway(Path(tmp) / "gw", sim.url, None, "--policy-dir", str(site))
            try:
                headers = {"Authorization": f"Bearer {gw.create_key('service')}"}
                at_start = status_kb(gw.proc.pid)
                with httpx.Client(timeout=60, trust_env=False) as client:
                    for i in range(args.requests):
                        body = {
                            "model": MODEL,
                            "messages": [{"role": "user", "content": TEXTS[i % len(TEXTS)].format(i=i)}],
                            "stream": bool(i % 2),
                        }
                        response = client.post(gw.url + "/v1/chat/completions", json=body, headers=headers)
                        response.raise_for_status()
                after = status_kb(gw.proc.pid)
            finally:
                stop(gw.proc)
    finally:
        stop(sim.proc)
    print(
        json.dumps(
            {
                "requests": args.requests,
                "rss_mb_after_start": round(at_start["VmRSS"] / 1024, 1),
                "rss_mb_after_requests": round(after["VmRSS"] / 1024, 1),
                "peak_rss_mb": round(after["VmHWM"] / 1024, 1),
                "budget_mb": 500,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
