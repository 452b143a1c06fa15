"""Cost of the PII step: per 1,000 characters, per request, and per turn of a conversation.

Usage: .venv/bin/python bench/pii_speed.py [--repeat N]
Prints p50 milliseconds. "cold" = text never seen (cache miss); "warm" = cached text.
Also the streaming output filter's detector call on short windows (p50/p99 microseconds), next to
Presidio's plain analysis that it replaces.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from policies.output.holdback import worth_scanning as _worth_scanning
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from policies.pii.redact_body import redact_chat_body
from tests.pii_corpus import generate

PROMPT_200 = (
    "Patient {name}, DOB 03/04/1975, seen today for diabetes follow-up. HbA1c 7.2%, on Metformin 500 mg "
    "twice daily. Phone 212-555-{n:04d}, email j.smith{n}@example.com. Please draft a short summary letter."
)
NAMES = ["John Smith", "Mary Jones", "Robert Brown", "Linda Davis", "James Miller", "Susan Wilson"]


def p50_ms(run: Callable[[int], object], repeat: int) -> float:
    run(-1)
    samples = []
    for index in range(repeat):
        started = time.perf_counter()
        run(index)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    policy = load_default_pii_policy()
    profile = policy.profile("clinical")
    detector = PIIDetector(policy, cache_key=os.urandom(32), cache_entries=10000)
    uncached = PIIDetector(policy, cache_key=os.urandom(32), cache_entries=0)

    def prompt(index: int) -> str:
        return PROMPT_200.format(name=NAMES[index % len(NAMES)], n=index % 10000 + 10000 * (index < 0))

    print(f"prompt length: {len(prompt(0))} characters")
    cold = p50_ms(lambda i: redact_chat_body(_chat(prompt(i + 100_000)), detector, profile), args.repeat)
    warm = p50_ms(lambda i: redact_chat_body(_chat(prompt(7)), detector, profile), args.repeat)
    print(f"request PII step, 200-char prompt, cold (new text): p50 {cold:.2f} ms")
    print(f"request PII step, 200-char prompt, warm (cached):   p50 {warm:.2f} ms")
    texts = [prompt(i + 200_000) for i in range(args.repeat)]
    timings = interleaved(uncached.detect, uncached._detect_reference, texts)
    for label, (wall, cpu) in zip(("NER gate", "no gate, AnalyzerEngine"), timings, strict=True):
        print(
            f"detect per call, 200-char prompt, cold, {label}: wall p50 {wall[0]:.2f} p99 {wall[1]:.2f} ms,"
            f" CPU p50 {cpu[0]:.2f} p99 {cpu[1]:.2f} ms"
        )

    corpus = generate(400, seed=99)
    by_kind: dict[str, list[str]] = {}
    for sample in corpus:
        by_kind.setdefault(sample.kind, []).append(sample.text)
    for kind, texts in sorted(by_kind.items()):
        chars = sum(len(t) for t in texts)
        started = time.perf_counter()
        for text in texts:
            uncached.detect(text)
        elapsed = (time.perf_counter() - started) * 1000
        print(f"detect, {kind:>5} text: {elapsed / chars * 1000:.2f} ms per 1,000 characters (cold)")
    started = time.perf_counter()
    patterns_chars = 0
    for sample in corpus:
        detector.detect_patterns_only(sample.text)
        patterns_chars += len(sample.text)
    elapsed = (time.perf_counter() - started) * 1000
    print(f"detect_patterns_only: {elapsed / patterns_chars * 1000:.2f} ms per 1,000 characters")

    windows = stream_windows([sample.text for sample in corpus], 2000)
    fast = percentiles_us(detector.detect_patterns_only, windows)
    plain = percentiles_us(detector._detect_patterns_reference, windows)
    print(
        f"detect_patterns_only on {len(windows)} short windows (20-120 chars): "
        f"p50 {fast[0]:.0f} µs, p99 {fast[1]:.0f} µs per call "
        f"(plain Presidio analysis: p50 {plain[0]:.0f} µs, p99 {plain[1]:.0f} µs)"
    )

    rng = random.Random(5)
    turns = []
    for index in range(20):
        turns.append({"role": "user", "content": prompt(rng.randrange(10_000)) + f" Turn {index}."})
        answer = f"Summary {index}: [PERSON_1] is stable; continue therapy."
        turns.append({"role": "assistant", "content": answer})
    print("20-turn conversation (turn k sends 2k-1 messages), p50 over repeats:")
    print(f"{'turn':>5}{'with cache':>12}{'no cache':>10}{'new text alone':>16}")
    repeat = max(5, args.repeat // 20)
    for turn in (1, 5, 10, 20):
        body = {"messages": turns[: 2 * turn - 1]}

        def with_cache(i: int, body: dict[str, Any] = body) -> None:
            # History is cached from earlier turns; the newest message is new text.
            last = dict(body["messages"][-1], content=body["messages"][-1]["content"] + f" v{i}")
            redact_chat_body({"messages": [*body["messages"][:-1], last]}, detector, profile)

        def without_cache(i: int, body: dict[str, Any] = body) -> None:
            redact_chat_body(body, uncached, profile)

        def new_alone(i: int, body: dict[str, Any] = body) -> None:
            last = dict(body["messages"][-1], content=body["messages"][-1]["content"] + f" w{i}")
            redact_chat_body({"messages": [last]}, detector, profile)

        print(
            f"{turn:>5}{p50_ms(with_cache, repeat):>11.2f}ms{p50_ms(without_cache, repeat):>8.2f}ms"
            f"{p50_ms(new_alone, repeat):>14.2f}ms"
        )


def stream_windows(texts: list[str], count: int, seed: int = 3) -> list[str]:
    """Windows of 20-120 characters that the streaming output filter would give the detector."""
    rng = random.Random(seed)
    windows: list[str] = []
    while len(windows) < count:
        text = rng.choice(texts)
        length = rng.randint(20, 120)
        start = rng.randint(0, max(0, len(text) - length))
        window = text[start : start + length]
        if _worth_scanning(window, 0, len(window)):  # the filter calls the detector only then
            windows.append(window)
    return windows


def interleaved(
    first: Callable[[str], object], second: Callable[[str], object], texts: list[str]
) -> tuple[tuple[tuple[float, float], tuple[float, float]], ...]:
    """((wall p50, p99), (CPU p50, p99)) milliseconds per call of each detector, the two called in
    turn on each text (alternating which goes first), so that load on the machine hits both alike."""
    for text in texts[:10]:
        first(text)
        second(text)
    samples: list[tuple[list[float], list[float]]] = [([], []), ([], [])]
    for index, text in enumerate(texts):
        order = (0, 1) if index % 2 else (1, 0)
        for which in order:
            started, started_cpu = time.perf_counter(), time.thread_time()
            (first, second)[which](text)
            samples[which][1].append((time.thread_time() - started_cpu) * 1000)
            samples[which][0].append((time.perf_counter() - started) * 1000)
    return tuple((_p50_p99(wall), _p50_p99(cpu)) for wall, cpu in samples)


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def percentiles_us(detect: Callable[[str], object], texts: list[str]) -> tuple[float, float]:
    """p50 and p99 microseconds per call, after one warm-up pass."""
    for text in texts:
        detect(text)
    samples = []
    for text in texts:
        started = time.perf_counter_ns()
        detect(text)
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def _chat(text: str) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


if __name__ == "__main__":
    main()
