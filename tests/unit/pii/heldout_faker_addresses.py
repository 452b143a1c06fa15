"""Postal addresses from Faker's Latin-script locales in clinical and banking sentences.

Faker (MIT) writes each locale's address shapes with its own street, city and postcode lists:
Indian "H.No." lines and PIN codes, Australian road types ("Meander", "Copse") and state codes,
Irish Eircodes, French "rue", Italian "(MI)" provinces, Mexican "Edif." and "Depto." units. The
address recognizers were written from USPS Publication 28, European street words and the public
corpus, not from these lists. A case counts as removed when findings of any type at the request
threshold (0.5) cover every letter and digit of the address: what the engine would not see.

Run ``.venv/bin/python -m tests.unit.pii.heldout_faker_addresses [--seed N] [--per-locale N]``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass

from tests.unit.pii.found import CaseLike, FindingLike
from tests.unit.pii.heldout_faker_names import LOCALES

CARRIERS = (
    "Please update the mailing address to {a}.",
    "Home address:\n{a}\nPhone on file.",
    "Send the replacement card to {a} by courier.",
    "The patient lives at {a} and needs transport.",
)


@dataclass(frozen=True)
class AddressCase:
    locale: str
    text: str
    start: int
    end: int


def generate(seed: int, per_locale: int = 20) -> list[AddressCase]:
    """``per_locale`` sentences per locale, each with one Faker address, on one line or several."""
    from faker import Faker

    rng = random.Random(seed)
    cases: list[AddressCase] = []
    for index, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + index)
        for _ in range(per_locale):
            value = fake.address()
            if rng.random() < 0.5:
                value = value.replace("\n", ", ")
            text = rng.choice(CARRIERS).format(a=value)
            start = text.index(value)
            cases.append(AddressCase(locale, text, start, start + len(value)))
    return cases


def is_removed(case: CaseLike, findings: Sequence[FindingLike], min_score: float = 0.5) -> bool:
    """Whether findings of any type at ``min_score`` or more cover every letter and digit of the case's
    value: what the engine would not see."""
    covered = {i for f in findings if f.score >= min_score for i in range(f.start, f.end)}
    return all(i in covered for i in range(case.start, case.end) if case.text[i].isalnum())


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--per-locale", type=int, default=20)
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32), cache_entries=0)
    cases = generate(args.seed, args.per_locale)
    removed = [is_removed(case, detector.detect(case.text)) for case in cases]
    hits = sum(removed)
    print(f"seed {args.seed}: addresses removed whole {hits} / {len(cases)} ({hits / len(cases):.3f})")
    per_locale: dict[str, list[int]] = {}
    for case, ok in zip(cases, removed, strict=True):
        counts = per_locale.setdefault(case.locale, [0, 0])
        counts[0] += ok
        counts[1] += 1
    print(" ".join(f"{locale} {hit}/{total}" for locale, (hit, total) in per_locale.items()))
    missed = [case for case, ok in zip(cases, removed, strict=True) if not ok]
    for case in missed[: args.show_misses]:
        print(f"{case.locale} | {case.text[case.start : case.end]!r}")


if __name__ == "__main__":
    main()
