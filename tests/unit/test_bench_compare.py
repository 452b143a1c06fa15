"""Tests of the side-by-side benchmark's load generator and report (no servers, no network).

.venv/bin/pytest -q bench/test_compare.py -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator

import httpx

from bench.compare_report import build_report, percentile, ratio, render_markdown, summarize
from bench.loadgen import CellResult, PromptSource, Sample, Target, prompt, run_cell
from bench.servers import peak_rss_kb, process_tree

TARGET = Target("gw", "http://bench.invalid", {"Authorization": "Bearer k"}, "m")


# --------------------------------------------------------------------------- prompts


def test_every_prompt_is_new_and_carries_a_name_a_phone_and_an_email() -> None:
    texts = [prompt(n) for n in range(5000)]
    assert len(set(texts)) == len(texts)
    for text in texts[:200] + texts[-200:]:
        assert 140 <= len(text) <= 170
        assert re.search(r"I am [A-Z][a-z]+ [A-Z][a-z]+,", text)
        assert re.search(r"phone 415-555-\d{4}", text)
        assert re.search(r"[a-z]+\.[a-z]+\d+@example\.org", text)


def test_prompt_source_never_repeats_across_cells() -> None:
    source = PromptSource()
    assert len({source.next() for _ in range(1000)}) == 1000


# --------------------------------------------------------------------------- load generator


def _chunk(content: str) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}) + "\n\n"


def _sse_handler(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    assert body["stream"] is True and body["model"] == "m"
    assert request.headers["authorization"] == "Bearer k"
    events = (
        'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
        + _chunk("Hello ")
        + _chunk("there")
        + "data: [DONE]\n\n"
    )
    return httpx.Response(200, content=events.encode(), headers={"content-type": "text/event-stream"})


def test_streamed_answer_with_done_counts_and_has_a_time_to_first_token() -> None:
    cell = asyncio.run(
        run_cell(
            TARGET,
            PromptSource(),
            stream=True,
            concurrency=2,
            requests=6,
            warmup=0,
            transport=httpx.MockTransport(_sse_handler),
        )
    )
    assert len(cell.samples) == 6
    assert all(s.ok and s.outcome == "ok" for s in cell.samples)
    assert all(s.ttft_ms is not None and 0 <= s.ttft_ms <= s.latency_ms for s in cell.samples)


def test_stream_without_done_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_chunk("cut").encode())

    cell = asyncio.run(
        run_cell(
            TARGET,
            PromptSource(),
            stream=True,
            concurrency=1,
            requests=3,
            warmup=0,
            transport=httpx.MockTransport(handler),
        )
    )
    assert [s.outcome for s in cell.samples] == ["no [DONE]"] * 3
    assert not any(s.ok for s in cell.samples)


def test_refusal_is_an_error_labelled_with_status_and_code() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["messages"][0]["content"])
        if len(seen) % 2:
            return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})
        return httpx.Response(503, json={"error": {"code": "pii_detection_unavailable", "message": "x"}})

    cell = asyncio.run(
        run_cell(
            TARGET,
            PromptSource(),
            stream=False,
            concurrency=1,
            requests=4,
            warmup=2,
            transport=httpx.MockTransport(handler),
        )
    )
    assert len(seen) == 6 and len(set(seen)) == 6  # warm-up included, every prompt new
    outcomes = [s.outcome for s in cell.samples]
    assert outcomes == ["ok", "503 pii_detection_unavailable", "ok", "503 pii_detection_unavailable"]
    row = summarize(cell)
    assert row["ok"] == 2 and row["errors"] == 2
    assert row["error_outcomes"] == {"503 pii_detection_unavailable": 2}


def test_transport_failure_is_an_error_not_a_crash() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    cell = asyncio.run(
        run_cell(
            TARGET,
            PromptSource(),
            stream=False,
            concurrency=2,
            requests=4,
            warmup=0,
            transport=httpx.MockTransport(handler),
        )
    )
    assert [s.outcome for s in cell.samples] == ["ConnectError"] * 4


def test_no_request_starts_after_the_cell_time_is_up() -> None:
    ticks: Iterator[float] = iter([0.0, 1.0, 2.0, 3.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0])

    def clock() -> float:
        return next(ticks)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

    cell = asyncio.run(
        run_cell(
            TARGET,
            PromptSource(),
            stream=False,
            concurrency=1,
            requests=100,
            warmup=1,
            max_seconds=10.0,
            clock=clock,
            transport=httpx.MockTransport(handler),
        )
    )
    # deadline read at 0.0; warm-up starts at 1.0; measured requests at 2.0 and 3.0; 50.0 stops.
    assert len(cell.samples) == 2
    assert cell.stopped_early


# --------------------------------------------------------------------------- figures and tables


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_ratio_has_no_value_without_a_baseline() -> None:
    assert ratio(30.0, 20.0) == 1.5
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(2.0, None) is None


def _cell(server: str, stream: bool, concurrency: int, latency: float, ttft: float | None) -> CellResult:
    samples = [Sample(latency, ttft, True, "ok") for _ in range(10)]
    return CellResult(server, stream, concurrency, samples, wall_s=1.0)


def test_added_latency_and_ratios_use_the_same_mode_and_concurrency() -> None:
    rows = [
        summarize(_cell("upstream", False, 1, 2.0, None)),
        summarize(_cell("litellm", False, 1, 22.0, None)),
        summarize(_cell("gateway_full", False, 1, 10.0, None)),
        summarize(_cell("upstream", True, 16, 4.0, 3.0)),
        summarize(_cell("litellm", True, 16, 44.0, 23.0)),
        summarize(_cell("gateway_full", True, 16, 14.0, 8.0)),
    ]
    rss = {
        "upstream": {"peak_rss_mb": 50.0, "processes": 1},
        "litellm": {"peak_rss_mb": 400.0, "processes": 1},
        "gateway_full": {"peak_rss_mb": 300.0, "processes": 1},
    }
    report = build_report(rows, rss, {"date": "d"})
    cells = {(c["server"], c["stream"], c["concurrency"]): c for c in report["cells"]}
    plain = cells[("gateway_full", False, 1)]
    assert plain["added_p50_ms"] == 8.0
    assert plain["vs_upstream"]["p50_ms"] == 5.0
    assert plain["vs_litellm"]["p50_ms"] == round(10 / 22, 2)
    assert plain["vs_litellm"]["added_p50_ms"] == 0.4  # 8 / 20
    assert plain["vs_upstream"]["added_p50_ms"] is None  # the upstream adds nothing to divide by
    assert plain["ttft_p50_ms"] is None
    streamed = cells[("gateway_full", True, 16)]
    assert streamed["added_ttft_p50_ms"] == 5.0
    assert streamed["vs_litellm"]["added_ttft_p50_ms"] == 0.25  # 5 / 20
    assert streamed["vs_litellm"]["throughput_rps"] == 1.0
    assert report["memory"]["gateway_full"]["vs_litellm"] == 0.75
    assert report["memory"]["gateway_full"]["vs_upstream"] == 6.0


def test_markdown_shows_both_modes_memory_cut_cells_and_errors() -> None:
    cut = _cell("gateway_full", True, 64, 10.0, 5.0)
    cut.stopped_early = True
    cut.samples.append(Sample(1.0, None, False, "no [DONE]"))
    rows = [summarize(_cell("upstream", False, 1, 2.0, None)), summarize(cut)]
    text = render_markdown(build_report(rows, {"upstream": {"peak_rss_mb": 50.0, "processes": 1}}, {}))
    assert "Non-streaming:" in text and "Streaming:" in text
    assert "| 64 | gateway_full † |" in text
    assert "† cut short by the time budget" in text
    assert "gateway_full c=64 stream: {'no [DONE]': 1}" in text
    assert "| upstream | 50.0 (1.00× / –) | 1 |" in text


def test_peak_rss_reads_this_process() -> None:
    assert os.getpid() in process_tree(os.getpid())
    kb, processes = peak_rss_kb(os.getpid())
    assert kb > 1000 and processes >= 1
