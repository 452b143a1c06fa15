"""Person names from Faker's locales, in clinical and banking sentences: names nobody here chose.

Faker (MIT; in the dev environment through Litestar's polyfactory) writes names the way each of
its locales does: titles and degrees ("Dipl.-Ing.", "Sig.ra", "M.Farm"), "Surname, First" (Baltic
locales), surname first (Hungarian), particles, diacritics. Its lists are not the detector's:
the name lexicons come from US Census and SSA files. A case counts when PERSON findings at the
request threshold (0.5) cover every letter and digit of the name less its titles and degrees,
which the detector rightly leaves out. Latin-script locales only; Greek, Cyrillic and other
scripts are beyond the English and Chinese detector.

Seed 1 was read to find what is missed; seed 2 is the held-out figure in docs/benchmarks.md;
``test_faker_names.py`` holds seed 3.

Run ``.venv/bin/python -m tests.unit.pii.heldout_faker_names [--seed N] [--per-locale N]``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tests.unit.pii.found import FindingLike

LOCALES = (
    *("en_US", "en_GB", "en_IN", "en_AU", "en_CA", "en_IE", "en_NZ", "en_PH", "de_DE", "fr_FR"),
    *("es_ES", "es_MX", "it_IT", "nl_NL", "pl_PL", "pt_BR", "pt_PT", "sv_SE", "da_DK", "no_NO"),
    *("fi_FI", "cs_CZ", "hu_HU", "ro_RO", "tr_TR", "hr_HR", "sk_SK", "sl_SI", "lt_LT", "lv_LV"),
    *("et_EE", "id_ID", "fil_PH", "tl_PH", "vi_VN", "sw", "yo_NG", "zu_ZA", "ga_IE"),
)
CARRIERS = (
    "Please summarise the chart for {n} before the ward round.",
    "Patient: {n}\nDOB: 1980-02-11\nReason: follow-up",
    "Can you draft a letter to {n} about the missed appointment?",
    "{n} called about the refill and wants a call back.",
    "The account holder, {n}, disputes the charge from March.",
    "Referral from {n} for cardiology review.",
    "Meeting notes: {n} agreed to send the statements by Friday.",
    "I spoke with {n} yesterday; she is worried about the biopsy result.",
    "Transfer approved for {n}, reference 20231104.",
    "Thanks, {n}",
)
# Titles and degrees Faker puts around names; a token with an inner or final dot is one too.
_TITLES = frozenset(
    "mr mrs ms miss mx dr dra herr frau pani pan mama prof md phd dds dvm jr sr ii iii iv v sra sig dott "
    "ing univ mag bsc msc ba ma".split()
)
_TOKEN_RE = re.compile(r"\S+")


@dataclass(frozen=True)
class NameCase:
    locale: str
    text: str
    start: int  # the name less titles and degrees
    end: int


def _is_title(token: str) -> bool:
    bare = token.strip(",").rstrip(".")
    return token.endswith(".") or bare.lower() in _TITLES or "." in bare


def _core(value: str) -> tuple[int, int]:
    """Offsets of ``value`` less leading titles and trailing titles and degrees."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(value)]
    while tokens and _is_title(tokens[0][2]):
        tokens.pop(0)
    while tokens and (_is_title(tokens[-1][2]) or (tokens[-1][2].isupper() and len(tokens[-1][2]) <= 4)):
        tokens.pop()
    if not tokens:
        return 0, len(value)
    start, end = tokens[0][0], tokens[-1][1]
    return start, end - 1 if value[end - 1] == "," else end


def generate(seed: int, per_locale: int = 30) -> list[NameCase]:
    """``per_locale`` sentences per locale, each with one Faker name in one of the carriers."""
    from faker import Faker

    rng = random.Random(seed)
    cases: list[NameCase] = []
    for index, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + index)
        for _ in range(per_locale):
            value = fake.name() if rng.random() < 0.5 else f"{fake.first_name()} {fake.last_name()}"
            text = rng.choice(CARRIERS).format(n=value)
            offset = text.index(value)
            start, end = _core(value)
            cases.append(NameCase(locale, text, offset + start, offset + end))
    return cases


def is_found(case: NameCase, findings: Sequence[FindingLike], min_score: float = 0.5) -> bool:
    people = [f for f in findings if f.entity_type == "PERSON" and f.score >= min_score]
    covered = {i for f in people for i in range(f.start, f.end)}
    return all(i in covered for i in range(case.start, case.end) if case.text[i].isalnum())


def recall(cases: Sequence[NameCase], findings: Sequence[Sequence[FindingLike]]) -> tuple[int, int]:
    hits = sum(is_found(case, found) for case, found in zip(cases, findings, strict=True))
    return hits, len(cases)


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--per-locale", type=int, default=30)
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32), cache_entries=0)
    cases = generate(args.seed, args.per_locale)
    findings = [detector.detect(case.text) for case in cases]
    hits, total = recall(cases, findings)
    print(f"seed {args.seed}: PERSON removed {hits} / {total} ({hits / total:.3f})")
    missed = [case for case, found in zip(cases, findings, strict=True) if not is_found(case, found)]
    by_locale: dict[str, int] = {}
    for case in missed:
        by_locale[case.locale] = by_locale.get(case.locale, 0) + 1
    print("missed per locale:", ", ".join(f"{k} {v}" for k, v in sorted(by_locale.items())) or "none")
    for case in missed[: args.show_misses]:
        print(f"{case.locale} | {case.text[case.start : case.end]!r} | {case.text!r}")


if __name__ == "__main__":
    main()
