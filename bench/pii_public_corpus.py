"""Recall of the request-side redaction on a public, labelled PII corpus the detector was not written for.

The corpus is Microsoft presidio-research's ``data/synth_dataset_v2.json`` (MIT licence; 1,500
template sentences with labelled spans). It is not shipped here: fetch the repository and pass the
file. A labelled value counts as removed when every letter and digit of it lies inside a finding that
the default profile acts on (its ``min_score``), of any type: what the engine would not have seen.
Types the gateway does not treat as personal data on their own (organizations, countries, ages,
titles) are listed for information and not counted.

``--half even`` keeps the samples at even indexes (0, 2, ...), ``--half odd`` the others: look at
misses on one half only and report the other as held out.

Usage: .venv/bin/python bench/pii_public_corpus.py PATH/TO/synth_dataset_v2.json [--profile NAME]
       [--half even|odd|all] [--show-misses N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from policies.pii.analyzer import PIIDetector
from policies.pii.config import load_default_pii_policy
from policies.pii.pseudonymize import select_findings

#: The corpus's types that the gateway must remove, and the name it reports them under.
COUNTED = {
    "PERSON": "PERSON",
    "CREDIT_CARD": "CREDIT_CARD",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "STREET_ADDRESS": "STREET_ADDRESS",
}


def removed(text: str, start: int, end: int, covered: list[tuple[int, int]]) -> bool:
    """Whether every letter and digit of ``text[start:end]`` is inside one of ``covered``."""
    return all(any(s <= i < e for s, e in covered) for i in range(start, end) if text[i].isalnum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N missed values per type")
    parser.add_argument(
        "--half", choices=("all", "even", "odd"), default="all", help="samples at even or odd indexes only"
    )
    args = parser.parse_args()
    samples = json.loads(args.corpus.read_text(encoding="utf-8"))
    if args.half != "all":
        samples = samples[args.half == "odd" :: 2]
    policy = load_default_pii_policy()
    profile = policy.profile(args.profile)
    detector = PIIDetector(policy, cache_key=os.urandom(32))
    findings = detector.detect_many([s["full_text"] for s in samples])
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    misses: dict[str, list[str]] = {}
    for sample, raw in zip(samples, findings, strict=True):
        text = sample["full_text"]
        covered = [(f.start, f.end) for f in select_findings(raw, profile, [])]
        for span in sample["spans"]:
            kind = COUNTED.get(span["entity_type"])
            if kind is None:
                continue
            total[kind] += 1
            if removed(text, span["start_position"], span["end_position"], covered):
                found[kind] += 1
            else:
                misses.setdefault(kind, []).append(span["entity_value"])
    print(f"corpus={args.corpus.name} half={args.half} samples={len(samples)} profile={args.profile}")
    print(f"{'type':<20}{'labelled':>9}{'removed':>9}{'recall':>8}")
    for kind in sorted(total):
        print(f"{kind:<20}{total[kind]:>9}{found[kind]:>9}{found[kind] / total[kind]:>8.3f}")
    if args.show_misses:
        for kind, values in sorted(misses.items()):
            print(f"missed {kind}: {values[: args.show_misses]}")


if __name__ == "__main__":
    main()
