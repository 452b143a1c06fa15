"""Recall and precision per entity type of PII detection on the labelled synthetic corpus.

Usage: .venv/bin/python bench/pii_quality.py [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from tests.pii_corpus import generate, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument(
        "--show-misses", action="store_true", help="print missed labels (synthetic data only)"
    )
    args = parser.parse_args()
    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32))
    samples = generate(args.count, args.seed)
    started = time.perf_counter()
    findings = [detector.detect(sample.text) for sample in samples]
    elapsed = time.perf_counter() - started
    scores = score(samples, findings)
    print(f"samples={len(samples)} chars={sum(len(s.text) for s in samples)} seconds={elapsed:.2f}")
    print(f"{'entity type':<24}{'labelled':>9}{'found':>7}{'recall':>8}{'precision':>10}")
    for entity_type in sorted(scores):
        entry = scores[entity_type]
        print(
            f"{entity_type:<24}{entry.labelled:>9}{entry.found:>7}{entry.recall:>8.3f}{entry.precision:>10.3f}"
        )
    survived = sum(all(fact in sample.text for fact in sample.keep) for sample in samples)
    print(f"samples whose clinical/banking facts are all outside findings: {survived}/{len(samples)}")
    if args.show_misses:
        for sample, found in zip(samples, findings, strict=True):
            for span in sample.spans:
                hit = [
                    f
                    for f in found
                    if f.entity_type == span.entity_type and f.start < span.end and span.start < f.end
                ]
                if not hit or min(f.start for f in hit) > span.start or max(f.end for f in hit) < span.end:
                    print(
                        "MISS",
                        span.entity_type,
                        repr(sample.text[span.start : span.end]),
                        "|",
                        repr(sample.text[:80]),
                    )
            for f in found:
                if f.score >= 0.5 and not any(
                    s.entity_type == f.entity_type and s.start < f.end and f.start < s.end
                    for s in sample.spans
                ):
                    print(
                        "FP",
                        f.entity_type,
                        repr(sample.text[f.start : f.end]),
                        f.score,
                        "|",
                        repr(sample.text[:80]),
                    )


if __name__ == "__main__":
    main()
