"""Side by side with LiteLLM: one upstream, LiteLLM proxy, the gateway twice, one load generator.

Starts the SGLang simulator as a ~2 ms OpenAI-compatible upstream, the LiteLLM proxy in front of it
(pinned, in its own venv, no guardrails, no database), and two gateways in front of it (the full
pipeline with PII on; PII off), then drives all four with the same load generator at each
concurrency, non-streaming and streaming, every request with a new prompt holding a name, a phone
number and an e-mail. The cells run interleaved (each concurrency and mode on every server in turn),
so a machine whose speed drifts slows every server alike. Writes ``compare.md`` and ``compare.json``
to ``--out`` and prints the markdown.

    make bench                                    # installs LiteLLM once, then runs this
    .venv/bin/python -m bench.compare --requests 60 --concurrency 1,16   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import litellm_proxy, servers
from bench.compare_report import build_report, render_markdown, summarize
from bench.loadgen import PromptSource, Target, run_cell

GATEWAYS = {
    "gateway_full": {},  # PII on (request redaction, answer NER), audit, RBAC, output filter
    "gateway_pii_off": {"GATEWAY_PII__ENABLED": "false"},
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; every request count and limit is a flag so a quick run is one away."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per cell (default 200)")
    parser.add_argument(
        "--min-rounds",
        type=int,
        default=4,
        help="a cell sends at least this many requests per worker (c=64: 256 by default)",
    )
    parser.add_argument("--warmup", type=int, default=16, help="unmeasured requests before each cell")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated (default 1,16,64)")
    parser.add_argument("--modes", default="plain,stream", help="plain, stream or both (default both)")
    parser.add_argument(
        "--cell-seconds", type=float, default=60.0, help="a cell starts no request after this"
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=540.0,
        help="the whole run, install included, stays within this: what is left after start-up is "
        "shared among the cells still to run (default 540)",
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("var/bench"), help="where the tables go")
    parser.add_argument("--litellm-venv", type=Path, default=Path("var/bench/litellm-venv"))
    parser.add_argument(
        "--tree",
        type=Path,
        default=servers.ROOT,
        help="source tree the gateway and upstream run from (default this checkout), e.g. an exported commit",
    )
    parser.add_argument("--skip-litellm", action="store_true", help="measure without LiteLLM (debugging)")
    parser.add_argument(
        "--skip-floor", action="store_true", help="without the passthrough floor (bench/floor_app.py)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="copy the servers' logs to --out")
    return parser.parse_args(argv)


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def _machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}"


def _revision(tree: Path) -> str:
    """The tree's commit, with ``+changes`` when its working tree differs from it (git reads only)."""
    commit = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not commit:
        return "not a git checkout"
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return commit + ("+changes" if dirty else "")


@contextlib.contextmanager
def running(started: list[servers.Server]) -> Iterator[list[servers.Server]]:
    """Stop every server in ``started`` on the way out, whatever happened."""
    try:
        yield started
    finally:
        for server in reversed(started):
            servers.stop(server)


def start_all(args: argparse.Namespace, work: Path, started: list[servers.Server]) -> list[servers.Server]:
    """Start the upstream, then LiteLLM and both gateways in parallel; wait for all; mint the keys."""
    tree = args.tree.resolve()
    upstream = servers.start_upstream(work, tree)
    started.append(upstream)
    servers.wait_ready(upstream, "/health", 60)
    proxies: list[servers.Server] = []
    if not args.skip_floor:
        proxies.append(servers.start_floor(work, upstream.url, tree))
        started.append(proxies[-1])
    if not args.skip_litellm:
        executable = args.litellm_venv / "bin" / "litellm"
        proxies.append(litellm_proxy.start_litellm(executable, work, upstream.url))
        started.append(proxies[-1])
    for name, env in GATEWAYS.items():
        proxies.append(servers.start_gateway(name, work, upstream.url, env, tree))
        started.append(proxies[-1])
    for server in proxies:
        path = "/health/liveliness" if server.name == "litellm" else "/healthz"  # floor: /healthz
        servers.wait_ready(server, path, 180)
        if server.name in GATEWAYS:
            servers.mint_gateway_key(server, work, GATEWAYS[server.name], tree)
    return [upstream, *proxies]


def measure(args: argparse.Namespace, targets: Sequence[Target], deadline: float) -> list[dict[str, Any]]:
    """Every (mode, concurrency) cell on every target in turn; returns one summary per cell.

    Each cell may use the time left before ``deadline`` divided by the cells still to run (at most
    ``--cell-seconds``), so a slow machine gets fewer requests per cell, never a longer run.
    """
    prompts = PromptSource()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"plain", "stream"}
    if unknown:
        raise SystemExit(f"bench: unknown mode(s) {sorted(unknown)}; use plain and/or stream")
    plan = [(mode, c, target) for mode in modes for c in levels for target in targets]
    rows: list[dict[str, Any]] = []
    for index, (mode, concurrency, target) in enumerate(plan):
        count = max(args.requests, args.min_rounds * concurrency)
        share = (deadline - time.monotonic()) / (len(plan) - index)
        cell = asyncio.run(
            run_cell(
                target,
                prompts,
                stream=mode == "stream",
                concurrency=concurrency,
                requests=count,
                warmup=args.warmup,
                max_tokens=args.max_tokens,
                max_seconds=max(1.0, min(args.cell_seconds, share)),
            )
        )
        row = summarize(cell)
        rows.append(row)
        print(
            f"bench: {mode:6} c={concurrency:<3} {target.name:16} p50 {row['p50_ms']} ms, "
            f"{row['throughput_rps']} req/s, {row['ok']}/{count} ok"
            + (" (cut short by the time budget)" if row["stopped_early"] else ""),
            flush=True,
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Install LiteLLM if needed, run the comparison, write and print the tables."""
    args = parse_args(argv)
    # A plain `kill` must still stop the servers: turn SIGTERM into SystemExit so `finally` runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    litellm_version = "not run"
    if not args.skip_litellm:
        litellm_proxy.ensure_installed(args.litellm_venv)
        litellm_version = litellm_proxy.installed_version(args.litellm_venv)
    args.out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "python": sys.version.split()[0],
        "gateway": _revision(args.tree),
        "litellm": litellm_version,
        "requests": args.requests,
        "min_rounds": args.min_rounds,
        "warmup": args.warmup,
        "load_before": _load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp, running([]) as started:
        work = Path(tmp)
        all_servers = start_all(args, work, started)
        targets = [Target(s.name, s.url, s.headers, servers.MODEL) for s in all_servers]
        # A few seconds stay for stopping the servers and writing the tables.
        rows = measure(args, targets, began + args.budget_s - 15)
        rss: dict[str, dict[str, Any]] = {}
        for server in all_servers:
            kb, processes = servers.peak_rss_kb(server.proc.pid)
            rss[server.name] = {"peak_rss_mb": round(kb / 1024, 1), "processes": processes}
        if args.keep_logs:
            for server in all_servers:
                (args.out / server.log_path.name).write_bytes(server.log_path.read_bytes())
    meta["load_after"] = _load_average()
    meta["elapsed_s"] = round(time.monotonic() - began, 1)
    report = build_report(rows, rss, meta)
    markdown = render_markdown(report)
    (args.out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "compare.md").write_text(markdown)
    print(markdown)
    print(f"bench: wrote {args.out / 'compare.md'} and {args.out / 'compare.json'} in {meta['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
