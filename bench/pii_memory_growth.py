"""Does detection keep what it reads? spaCy's string store and the process's memory over fresh prompts.

Usage: .venv/bin/python bench/pii_memory_growth.py [--requests N] [--step N]
Runs the request PII step on N fresh prompts (a new name, phone number and e-mail address each,
as in `make bench`) and prints, every `--step` prompts, the strings in spaCy's store, the resident
memory of the process (after a garbage collection) and whether the first prompt's e-mail address
is still among spaCy's strings.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.loadgen import prompt
from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from policies.pii.redact_body import redact_chat_body


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--step", type=int, default=10_000)
    args = parser.parse_args()
    policy = load_default_pii_policy()
    profile = policy.profile("clinical")
    # A small finding cache, so that it cannot explain growth; the gateway's default is 20,000.
    detector = PIIDetector(policy, cache_key=os.urandom(32), cache_entries=100)
    strings = detector._engine.nlp["en"].vocab.strings  # type: ignore[index]

    def run(n: int) -> None:
        body = {"model": "m", "messages": [{"role": "user", "content": prompt(n)}]}
        redact_chat_body(body, detector, profile)

    for n in range(500):  # warm-up: what start-up and the first requests add for good
        run(10_000_000 + n)
    first = prompt(0)
    first_mail = first.split("mail ")[1].split(" ")[0].rstrip(".")
    started = time.perf_counter()
    print("requests | spaCy strings | RSS MB | first prompt's e-mail still in spaCy's strings | seconds")
    print("--- | --- | --- | --- | ---")
    gc.collect()
    print(f"0 | {len(strings)} | {_rss_mb():.1f} | - | 0")
    for n in range(args.requests):
        run(n)
        if (n + 1) % args.step == 0:
            gc.collect()
            elapsed = time.perf_counter() - started
            row = f"{n + 1} | {len(strings)} | {_rss_mb():.1f} | {first_mail in strings} | {elapsed:.0f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
