"""Recall of the request-side redaction on a public, labelled PII corpus the detector was not written for.

The corpus is Microsoft presidio-research's ``data/synth_dataset_v2.json`` (MIT licence; 1,500
template sentences with labelled spans). It is not shipped here: fetch the repository and pass the
file. A labelled value counts as removed when every letter and digit of it lies inside a finding that
the default profile acts on (its ``min_score``), of any type: what the engine would not have seen.
Types the gateway does not treat as personal data on their own (organizations, countries, ages,
titles) are listed for information and not counted.

``--half even`` keeps the samples at even indexes (0, 2, ...), ``--half odd`` the others: look at
misses on one half only and report the other as held out.

Precision: of the findings the profile acts on, of the types a name or a street address is reported
as (PERSON, LOCATION), the share that overlaps a labelled value of the matching type (PERSON,
STREET_ADDRESS). The corpus labels organizations and places too, so a firm named after people
("Clark, Romero and Hall") read as a person counts against it. Cost: CPU and wall-clock seconds of
detection per sample, best of ``--repeat`` runs with a cold cache each time.

Usage: .venv/bin/python bench/pii_public_corpus.py PATH/TO/synth_dataset_v2.json [--profile NAME]
       [--half even|odd|all] [--show-misses N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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
#: Finding types whose precision is reported, and the labelled type a correct one overlaps.
PRECISION = {"PERSON": "PERSON", "LOCATION": "STREET_ADDRESS"}


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
    parser.add_argument("--repeat", type=int, default=1, help="detection runs timed (best is printed)")
    args = parser.parse_args()
    samples = json.loads(args.corpus.read_text(encoding="utf-8"))
    if args.half != "all":
        samples = samples[args.half == "odd" :: 2]
    policy = load_default_pii_policy()
    profile = policy.profile(args.profile)
    texts = [s["full_text"] for s in samples]
    cpu = wall = float("inf")
    for _ in range(max(1, args.repeat)):
        detector = PIIDetector(policy, cache_key=os.urandom(32))  # a cold cache each run
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        findings = detector.detect_many(texts)
        cpu = min(cpu, time.process_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started_wall)
    reported: Counter[str] = Counter()
    on_label: Counter[str] = Counter()
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    misses: dict[str, list[str]] = {}
    for sample, raw in zip(samples, findings, strict=True):
        text = sample["full_text"]
        selected = select_findings(raw, profile, [])
        covered = [(f.start, f.end) for f in selected]
        for finding in selected:
            expected = PRECISION.get(finding.entity_type)
            if expected is None:
                continue
            reported[finding.entity_type] += 1
            if any(
                span["entity_type"] == expected
                and span["start_position"] < finding.end
                and finding.start < span["end_position"]
                for span in sample["spans"]
            ):
                on_label[finding.entity_type] += 1
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
    print(f"{'finding type':<20}{'findings':>9}{'labelled':>9}{'precision':>10}")
    for kind in sorted(reported):
        print(f"{kind:<20}{reported[kind]:>9}{on_label[kind]:>9}{on_label[kind] / reported[kind]:>10.3f}")
    per_sample = 1000 / len(samples)
    print(
        f"detection per sample: {cpu * per_sample:.2f} ms CPU, {wall * per_sample:.2f} ms wall"
        f" (best of {args.repeat})"
    )
    if args.show_misses:
        for kind, values in sorted(misses.items()):
            print(f"missed {kind}: {values[: args.show_misses]}")


if __name__ == "__main__":
    main()
