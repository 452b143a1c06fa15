"""Figures and tables of the side-by-side benchmark, from the load generator's samples.

Pure functions over plain data: ``summarize`` turns one cell's samples into figures,
``build_report`` adds the added-latency column and every figure's ratio to the upstream and to
LiteLLM measured in the same run, ``render_markdown`` writes the tables.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bench.loadgen import CellResult

UPSTREAM = "upstream"
LITELLM = "litellm"

# The figures of one cell, in table order: key, column title, which mode shows it.
_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("p50_ms", "p50 ms", "both"),
    ("p95_ms", "p95 ms", "both"),
    ("p99_ms", "p99 ms", "both"),
    ("added_p50_ms", "added p50 ms", "both"),
    ("ttft_p50_ms", "TTFT p50 ms", "stream"),
    ("ttft_p99_ms", "TTFT p99 ms", "stream"),
    ("added_ttft_p50_ms", "added TTFT p50 ms", "stream"),
    ("throughput_rps", "req/s", "both"),
    ("errors", "errors", "both"),
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summarize(cell: CellResult) -> dict[str, Any]:
    """Latency percentiles (successful requests), time to first token, throughput and errors."""
    good = [s for s in cell.samples if s.ok]
    latencies = [s.latency_ms for s in good]
    ttfts = [s.ttft_ms for s in good if s.ttft_ms is not None]
    outcomes = Counter(s.outcome for s in cell.samples if not s.ok)
    return {
        "server": cell.server,
        "stream": cell.stream,
        "concurrency": cell.concurrency,
        "requests": len(cell.samples),
        "ok": len(good),
        "errors": len(cell.samples) - len(good),
        "error_outcomes": dict(sorted(outcomes.items())),
        "stopped_early": cell.stopped_early,
        "wall_s": round(cell.wall_s, 3),
        "p50_ms": _round(percentile(latencies, 0.50)),
        "p95_ms": _round(percentile(latencies, 0.95)),
        "p99_ms": _round(percentile(latencies, 0.99)),
        "ttft_p50_ms": _round(percentile(ttfts, 0.50)) if cell.stream else None,
        "ttft_p99_ms": _round(percentile(ttfts, 0.99)) if cell.stream else None,
        "throughput_rps": round(len(good) / cell.wall_s, 1) if cell.wall_s > 0 else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base`` rounded to 2 places, or None when either is missing or ``base`` is 0."""
    if value is None or base is None or base == 0:
        return None
    return round(value / base, 2)


def _difference(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else round(value - base, 2)


def build_report(
    rows: Sequence[Mapping[str, Any]], rss: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """Rows with added latency over the upstream and ratios to the upstream and LiteLLM, plus memory.

    ``rows`` come from ``summarize``; the baselines for a row are the upstream's and LiteLLM's rows
    of the same mode and concurrency. A ratio with no baseline in this run (or a zero one) is None.
    """
    by_key = {(r["server"], r["stream"], r["concurrency"]): r for r in rows}
    cells: list[dict[str, Any]] = []
    for row in rows:
        cell = dict(row)
        upstream = by_key.get((UPSTREAM, row["stream"], row["concurrency"]), {})
        cell["added_p50_ms"] = _difference(row["p50_ms"], upstream.get("p50_ms"))
        cell["added_ttft_p50_ms"] = (
            _difference(row["ttft_p50_ms"], upstream.get("ttft_p50_ms")) if row["stream"] else None
        )
        cells.append(cell)
    by_key = {(c["server"], c["stream"], c["concurrency"]): c for c in cells}
    for cell in cells:
        for name, base_server in (("vs_upstream", UPSTREAM), ("vs_litellm", LITELLM)):
            base = by_key.get((base_server, cell["stream"], cell["concurrency"]), {})
            cell[name] = {key: ratio(cell.get(key), base.get(key)) for key, _, _ in _FIGURES}
    memory = {
        server: {
            **figures,
            "vs_upstream": ratio(figures.get("peak_rss_mb"), rss.get(UPSTREAM, {}).get("peak_rss_mb")),
            "vs_litellm": ratio(figures.get("peak_rss_mb"), rss.get(LITELLM, {}).get("peak_rss_mb")),
        }
        for server, figures in rss.items()
    }
    return {"meta": dict(meta), "cells": cells, "memory": memory}


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _figure(value: float | None, vs_upstream: float | None, vs_litellm: float | None) -> str:
    return f"{_number(value)} ({_times(vs_upstream)} / {_times(vs_litellm)})"


def _cell_table(cells: Sequence[Mapping[str, Any]], stream: bool) -> list[str]:
    figures = [f for f in _FIGURES if f[2] == "both" or (stream and f[2] == "stream")]
    header = ["c", "server", *(title for _, title, _ in figures)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for cell in sorted(
        (c for c in cells if c["stream"] is stream), key=lambda c: (c["concurrency"], _order(c["server"]))
    ):
        values = [
            _figure(cell.get(key), cell["vs_upstream"].get(key), cell["vs_litellm"].get(key))
            for key, _, _ in figures
        ]
        server = cell["server"] + (" †" if cell["stopped_early"] else "")
        lines.append("| " + " | ".join([str(cell["concurrency"]), server, *values]) + " |")
    return lines


def _order(server: str) -> tuple[int, str]:
    rank = {UPSTREAM: 0, LITELLM: 1}
    return rank.get(server, 2), server


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as markdown: one table per mode, one for memory, and the run's conditions."""
    meta = report["meta"]
    lines = [
        f"Run {meta.get('date', '?')} on {meta.get('machine', '?')}; gateway {meta.get('gateway', '?')}; "
        f"LiteLLM {meta.get('litellm', '?')}; "
        f"measured requests per cell max({meta.get('requests', '?')}, {meta.get('min_rounds', '?')} × c) "
        f"after a warm-up; load average {meta.get('load_before', '?')} before, "
        f"{meta.get('load_after', '?')} after; {meta.get('elapsed_s', '?')} s in all.",
        "",
        "Each figure: value (× upstream / × LiteLLM, same mode and concurrency). Latencies are of the"
        " successful requests, to the last byte; TTFT is time to the first content token.",
        "",
        "Non-streaming:",
        "",
        *_cell_table(report["cells"], stream=False),
        "",
        "Streaming:",
        "",
        *_cell_table(report["cells"], stream=True),
        "",
        "Peak resident memory (VmHWM, summed over each server's process tree, read after the run):",
        "",
        "| server | peak RSS MB | processes |",
        "| --- | --- | --- |",
    ]
    for server in sorted(report["memory"], key=_order):
        figures = report["memory"][server]
        peak = _figure(figures.get("peak_rss_mb"), figures["vs_upstream"], figures["vs_litellm"])
        lines.append(f"| {server} | {peak} | {figures.get('processes', '–')} |")
    if any(c["stopped_early"] for c in report["cells"]):
        lines += ["", "† cut short by the time budget (`--budget-s`): fewer requests than planned."]
    failures = [
        f"{c['server']} c={c['concurrency']} {'stream' if c['stream'] else 'plain'}: {c['error_outcomes']}"
        for c in report["cells"]
        if c["errors"]
    ]
    if failures:
        lines += ["", "Errors: " + "; ".join(failures) + "."]
    return "\n".join(lines) + "\n"
