"""Output filter cost: per-chunk feed time (p50/p99, µs) and added time to first token.

A 1,000-token answer (realistic chunk sizes: words, spaces, punctuation, a few pseudonym tokens,
numbers, phone numbers and a key that gets redacted; a new answer each run) is fed chunk by chunk
through the shipped default rules:

* rules only (a caller without pii:unmask, no detector);
* rules + pseudonym restoration (pii:unmask);
* rules + restoration + a regex PII detector with a 96-character window (the input step's bound);
* rules + restoration + the real ``PIIDetector.detect_identifiers``;
* the same plus names by the name rules around each name in progress (``pii.stream_names``, as
  the gateway runs it by default);
* the same plus NER clause by clause (``pii.stream_ner``).

"Added TTFT" is the time from the first chunk arriving to the first byte released, assuming the
engine emits one chunk every ``--tpot-ms`` (held chunks cost a full token time each).

    .venv/bin/python bench/output_filter.py [--tpot-ms 20] [--runs 30] [--clock cpu] [--no-ner]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.bundle import DEFAULT_POLICY_DIR, read_document
from policies.output.config import compile_rules_for_role, parse_output_policy
from policies.output.stream_filter import StreamFilter

WORDS = (
    "the patient was admitted with acute chest pain and shortness of breath ; troponin levels were "
    "elevated , and an ECG showed ST depression in leads V4 - V6 . We recommend aspirin 300 mg , "
    "a repeat troponin in 3 hours , and cardiology review . Blood pressure 142 / 88 , heart rate 96 ."
).split()
RESTORE = {
    "[PERSON_1]": "Alice Zhang",
    "[PHONE_NUMBER_1]": "+1 415 555 0100",
    "[CN_ID_CARD_1]": "11010519491231002X",
}


@dataclass(frozen=True)
class Span:
    entity_type: str
    start: int
    end: int


_PII = (
    ("EMAIL_ADDRESS", re.compile(r"[A-Za-z0-9._%+-]{1,32}@[A-Za-z0-9-]{1,20}(?:\.[A-Za-z0-9-]{1,20}){1,3}")),
    ("PHONE_NUMBER", re.compile(r"(?<![\w+])(?:\+?\d{1,3}[ -]?)?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{4}(?!\d)")),
)


def regex_detector(text: str) -> Sequence[Span]:
    return [Span(t, m.start(), m.end()) for t, p in _PII for m in p.finditer(text)]


def make_chunks(n_tokens: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    chunks: list[str] = []
    while len(chunks) < n_tokens:
        r = rng.random()
        if r < 0.03:
            chunks += [" [", "PERSON", "_", "1", "]"]
        elif r < 0.04:
            # A new number each time, as in a real answer (no detector step sees it twice).
            digits = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            chunks += [" call", " " + digits[:3], "-" + digits[3:6], "-" + digits[6:8], digits[8:]]
        elif r < 0.045:
            chunks += [" key", " sk", "-proj", "-Ab3dEf6h", "Ij9kLm2n", "Op5qRs8t"]
        else:
            word = rng.choice(WORDS)
            chunks.append(word if word in ",.;" else " " + word)
    return chunks[:n_tokens]


def run_once(
    make: Callable[[], StreamFilter | None],
    chunks: list[str],
    tpot_ms: float,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> tuple[list[float], float]:
    filt = make()
    times: list[float] = []
    first_release_ms: float | None = None
    for i, chunk in enumerate(chunks):
        t0 = clock()
        released = chunk if filt is None else filt.feed("content", chunk).text
        dt = (clock() - t0) / 1000.0
        times.append(dt)
        if first_release_ms is None and released:
            first_release_ms = i * tpot_ms + dt / 1000.0
    if filt is not None:
        filt.finish("content")
    return times, first_release_ms if first_release_ms is not None else len(chunks) * tpot_ms


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tpot-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--no-real-detector", action="store_true", help="skip the spaCy-backed detector")
    parser.add_argument("--no-ner", action="store_true", help="skip the NER-clauses configuration")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="per-chunk time: wall clock, or this thread's CPU time (steadier on a shared machine)",
    )
    args = parser.parse_args()
    doc, _ = read_document(DEFAULT_POLICY_DIR / "output.yaml")
    rules = compile_rules_for_role(parse_output_policy(doc, "output.yaml"), ["analyst"])
    # A new answer each run (other words, other numbers): nothing a run sees was seen before.
    answers = [make_chunks(args.tokens, seed=7 + run) for run in range(args.runs)]
    chunks = answers[0]
    configs: dict[str, Callable[[], StreamFilter | None]] = {
        "no filter": lambda: None,
        "rules": lambda: StreamFilter(rules, None),
        "rules+restore": lambda: StreamFilter(rules, RESTORE),
        "rules+restore+detector(96)": lambda: StreamFilter(rules, RESTORE, regex_detector, 96),
        "...+detector, stride 16": lambda: StreamFilter(
            rules, RESTORE, regex_detector, 96, detector_stride=16
        ),
    }
    if not args.no_real_detector:
        from policies.pii.analyzer import PIIDetector
        from policies.pii.config import load_default_pii_policy

        real = PIIDetector(load_default_pii_policy(), b"b" * 32, 100)
        configs["rules+restore+PIIDetector"] = lambda: StreamFilter(
            rules, RESTORE, real.detect_identifiers, real.max_pattern_length
        )
        # pii.stream_names (the default): the name rules around each name in progress.
        configs["...+names by rules (default)"] = lambda: StreamFilter(
            rules,
            RESTORE,
            real.detect_identifiers,
            real.max_pattern_length,
            name_detector=real.detect_names_by_rules,
            name_holds="run",
        )
        # pii.stream_ner: NER once per clause that could hold a name (held until it ends). No cache:
        # every run feeds the same text, and a real answer's clauses are new text.
        uncached = PIIDetector(load_default_pii_policy(), b"b" * 32, 0)
    if not args.no_real_detector and not args.no_ner:
        configs["...+PIIDetector+NER clauses"] = lambda: StreamFilter(
            rules,
            RESTORE,
            uncached.detect_identifiers,
            uncached.max_pattern_length,
            name_detector=uncached.detect,
        )
    n_chars = sum(map(len, chunks))  # of the first answer
    clock = time.thread_time_ns if args.clock == "cpu" else time.perf_counter_ns
    print(
        f"{args.tokens} chunks, {n_chars} characters, {args.runs} runs, tpot {args.tpot_ms} ms, "
        f"{args.clock} clock"
    )
    print(f"{'config':30} {'p50 µs':>8} {'p99 µs':>8} {'max µs':>8} {'total ms':>9} {'added TTFT ms':>14}")
    baseline_ttft = None
    for name, make in configs.items():
        all_times: list[float] = []
        ttfts: list[float] = []
        for answer in answers:
            times, ttft = run_once(make, answer, args.tpot_ms, clock)
            all_times += times
            ttfts.append(ttft)
        ttft = statistics.median(ttfts)
        if baseline_ttft is None:
            baseline_ttft = ttft
        total = sum(all_times) / args.runs / 1000.0
        print(
            f"{name:30} {pct(all_times, 0.5):8.1f} {pct(all_times, 0.99):8.1f} {max(all_times):8.1f} "
            f"{total:9.2f} {ttft - baseline_ttft:14.3f}"
        )


if __name__ == "__main__":
    main()
