"""Chinese names and addresses from Faker's zh_CN (simplified) and zh_TW (traditional) locales, in
Chinese clinical and banking sentences: values nobody here chose, in both scripts.

A name counts when PERSON findings at the request threshold (0.5) cover every character of it; an
address when findings of any type at 0.5 cover every letter and digit of it (Taiwanese addresses
put the postal code first: 84177 臺東市中華街507號9樓). Seed 1 was read to find what is missed;
seed 2 is the held-out figure in docs/benchmarks.md; ``test_faker_zh_names.py`` holds seed 3.

Run ``.venv/bin/python -m tests.unit.pii.heldout_faker_zh [--seed N] [--per-locale N] [--addresses]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from tests.unit.pii.found import FindingLike
from tests.unit.pii.heldout_faker_addresses import is_removed

LOCALES = ("zh_CN", "zh_TW")
CARRIERS = (
    "请帮我总结{n}的病历。",
    "患者{n}今天来复诊。",
    "{n}的银行卡已挂失，请处理。",
    "联系人：{n}，电话见附件。",
    "给{n}写一封出院通知。",
    "客户{n}要求查询账户余额。",
    "{n}说她明天来取药。",
    "转账给{n}，金额五千元。",
)


@dataclass(frozen=True)
class ZhNameCase:
    locale: str
    text: str
    start: int
    end: int


def generate(seed: int, per_locale: int = 40) -> list[ZhNameCase]:
    """Each of ``per_locale`` Faker names of each locale in every carrier."""
    from faker import Faker

    cases: list[ZhNameCase] = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for name in (fake.name() for _ in range(per_locale)):
            for carrier in CARRIERS:
                text = carrier.format(n=name)
                start = text.index(name)
                cases.append(ZhNameCase(locale, text, start, start + len(name)))
    return cases


ADDRESS_CARRIERS = (
    "收货地址：{a}",
    "请把报告寄到{a}。",
    "患者住在{a}，需要安排随访。",
    "家庭住址\n{a}\n电话另附。",
)


def generate_addresses(seed: int, per_locale: int = 40) -> list[ZhNameCase]:
    """``per_locale`` Faker addresses of each locale, each in one carrier (chosen in turn)."""
    from faker import Faker

    cases: list[ZhNameCase] = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        for index in range(per_locale):
            value = fake.address()
            text = ADDRESS_CARRIERS[index % len(ADDRESS_CARRIERS)].format(a=value)
            start = text.index(value)
            cases.append(ZhNameCase(locale, text, start, start + len(value)))
    return cases


def is_found(case: ZhNameCase, findings: Sequence[FindingLike], min_score: float = 0.5) -> bool:
    people = [f for f in findings if f.entity_type == "PERSON" and f.score >= min_score]
    covered = {i for f in people for i in range(f.start, f.end)}
    return all(i in covered for i in range(case.start, case.end))


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--per-locale", type=int, default=40)
    parser.add_argument("--show-misses", type=int, default=0)
    parser.add_argument("--addresses", action="store_true", help="addresses instead of names")
    args = parser.parse_args()
    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32), cache_entries=0)
    if args.addresses:
        cases = generate_addresses(args.seed, args.per_locale)
        found = [is_removed(case, detector.detect(case.text)) for case in cases]
    else:
        cases = generate(args.seed, args.per_locale)
        found = [is_found(case, detector.detect(case.text)) for case in cases]
    what = "addresses" if args.addresses else "PERSON"
    print(f"seed {args.seed}: {what} removed {sum(found)} / {len(cases)} ({sum(found) / len(cases):.3f})")
    for locale in LOCALES:
        hits = [ok for case, ok in zip(cases, found, strict=True) if case.locale == locale]
        print(f"  {locale}: {sum(hits)} / {len(hits)}")
    missed = [case.text for case, ok in zip(cases, found, strict=True) if not ok]
    for text in missed[: args.show_misses]:
        print("  missed:", text)


if __name__ == "__main__":
    main()
