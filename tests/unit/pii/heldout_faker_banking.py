"""Bank accounts, routing numbers, passport numbers, coordinates and national identity numbers from
Faker, in the sentences a bank clerk, a ward clerk or a dispatcher writes: values nobody here chose.

Faker (MIT; in the dev environment through Litestar's polyfactory) makes the values: domestic
account numbers of many countries (``bban``: 14 to 24 characters, some with a bank code's
letters), ABA routing numbers, passport numbers (``passport_number``: letters and digits per
country), coordinates (``latitude``, ``longitude``), and national identity and tax numbers of 18
locales (``ssn``, ``cpf``, ``nif``, ``pesel``, ``curp`` ...) under the names people there give them,
some of which the detector has no entry for ("numéro de sécurité sociale", "SV-Nummer"). The
carriers below were written before the detector's word lists were looked at, several with words it
has no entry for.
A case counts when findings at the request threshold (0.5), of any type, cover every letter and
digit of its values (a latitude and a longitude are two values).

Seed 1 was read to find what is missed; seed 2 is the held-out figure in docs/benchmarks.md;
``test_faker_banking.py`` holds seed 3.

Run ``.venv/bin/python -m tests.unit.pii.heldout_faker_banking [--seed N] [--per-class N]``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.unit.pii.found import FindingLike

LOCALES = ("en_US", "en_GB", "en_IN", "en_CA", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "pl_PL", "pt_BR")

ACCOUNT_CARRIERS = (
    "Please move the balance to account {v} before Friday.",
    "Customer asks why acct # {v} was charged twice.",
    "Refund to her checking account number {v}, not the card.",
    "Beneficiary account: {v}",
    "Direct deposit goes to account no. {v} from next month.",
    "The wire bounced: account {v} is closed.",
    "Verify the savings account {v} belongs to the caller.",
    "A/C {v} shows three returned payments.",
    "Set up a standing order from account {v} to the care home.",
    "Her account number is {v}; please update the mandate.",
)
ROUTING_CARRIERS = (
    "Routing number {v}, please confirm with the branch.",
    "ABA {v} is on the voided cheque.",
    "Use routing {v} for the direct deposit form.",
    "The routing no. is {v}.",
)
PASSPORT_CARRIERS = (
    "Patient's passport number {v} was copied at admission.",
    "Passport no. {v}, expires next year.",
    "KYC check: passport {v} matches the photo.",
    "Her passport # is {v}; the name is spelled differently.",
    "Scan of passport {v} attached for the overseas transfer.",
)
COORDINATE_CARRIERS = (
    "Ambulance dispatched to GPS {lat}, {lng}.",
    "Last known location: {lat}, {lng}",
    "The phone pinged at coordinates {lat},{lng} last night.",
    "Pickup point lat {lat} long {lng}.",
    "Home visit address could not be found; coordinates ({lat}, {lng}).",
)

NATIONAL_ID_CARRIERS = (
    "Customer's {w} is {v}; please verify it against the form.",
    "KYC check: {w} {v} matches the photo ID.",
    "{w}: {v}",
    "The patient gave her {w} {v} at registration.",
    "Please update the {w} on file to {v}.",
)
# Per locale: Faker's method for the number, and what people there call it.
NATIONAL_IDS = {
    "en_GB": ("ssn", ("National Insurance number", "NI number", "NINO")),
    "en_CA": ("ssn", ("SIN", "social insurance number")),
    "en_IN": ("aadhaar_id", ("Aadhaar", "Aadhaar number")),
    "en_US": ("itin", ("ITIN", "tax ID", "taxpayer ID")),
    "pt_BR": ("cpf", ("CPF", "número do CPF")),
    "es_ES": ("nif", ("DNI", "NIF")),
    "nl_NL": ("ssn", ("BSN", "burgerservicenummer")),
    "it_IT": ("ssn", ("codice fiscale", "fiscal code")),
    "fr_FR": ("ssn", ("NIR", "numéro de sécurité sociale")),
    "sv_SE": ("ssn", ("personnummer", "personal identity number")),
    "fi_FI": ("ssn", ("henkilötunnus", "HETU")),
    "pl_PL": ("pesel", ("PESEL", "numer PESEL")),
    "ro_RO": ("ssn", ("CNP", "cod numeric personal")),
    "cs_CZ": ("birth_number", ("rodné číslo", "birth number")),
    "tr_TR": ("ssn", ("TC kimlik no", "TCKN")),
    "ko_KR": ("ssn", ("resident registration number", "RRN")),
    "es_MX": ("curp", ("CURP", "clave CURP")),
    "de_AT": ("ssn", ("Sozialversicherungsnummer", "SV-Nummer")),
}


@dataclass(frozen=True)
class ValueCase:
    kind: str  # account / routing / passport / coordinates / national_id
    locale: str
    text: str
    spans: tuple[tuple[int, int], ...]  # each value (a latitude and a longitude are two)

    @property
    def values(self) -> list[str]:
        return [self.text[start:end] for start, end in self.spans]


def _case(kind: str, locale: str, carrier: str, w: str = "", **values: str) -> ValueCase:
    """The carrier with ``values`` (and the identifier's name ``w``, not scored) filled in."""
    text = carrier.format(w=w, **values)
    spans = []
    for value in values.values():
        start = text.index(value, text.index(w) + len(w) if w else 0)
        spans.append((start, start + len(value)))
    return ValueCase(kind, locale, text, tuple(spans))


def _degrees(value: str, positive: str, negative: str) -> str:
    number = float(value)
    return f"{abs(number):.4f}° {positive if number >= 0 else negative}"


def generate(seed: int, per_class: int = 60) -> list[ValueCase]:
    """``per_class`` cases of each kind, values from Faker's locales, carriers taken at random."""
    from faker import Faker

    rng = random.Random(seed)
    fakes = {locale: Faker(locale) for locale in LOCALES}
    for index, fake in enumerate(fakes.values()):
        fake.seed_instance(seed * 1000 + index)
    national = {locale: Faker(locale) for locale in NATIONAL_IDS}
    for index, fake in enumerate(national.values()):
        fake.seed_instance(seed * 1000 + 100 + index)
    kinds: dict[str, Callable[[Any, str], ValueCase]] = {
        "account": lambda f, loc: _case("account", loc, rng.choice(ACCOUNT_CARRIERS), v=f.bban()),
        "routing": lambda f, loc: _case("routing", loc, rng.choice(ROUTING_CARRIERS), v=f.aba()),
        "passport": lambda f, loc: _case(
            "passport", loc, rng.choice(PASSPORT_CARRIERS), v=f.passport_number()
        ),
        "coordinates": _coordinates(rng),
    }
    cases: list[ValueCase] = []
    for kind, make in kinds.items():
        for _ in range(per_class):
            locale = rng.choice(LOCALES)
            cases.append(make(fakes[locale], locale))
    for _ in range(per_class):
        locale = rng.choice(sorted(NATIONAL_IDS))
        method, words = NATIONAL_IDS[locale]
        value = getattr(national[locale], method)()
        cases.append(
            _case("national_id", locale, rng.choice(NATIONAL_ID_CARRIERS), w=rng.choice(words), v=value)
        )
    return cases


def _coordinates(rng: random.Random) -> Callable[[Any, str], ValueCase]:
    def make(fake: Any, locale: str) -> ValueCase:
        lat, lng = f"{fake.latitude():.5f}", f"{fake.longitude():.5f}"
        if rng.random() < 0.3:
            lat, lng = _degrees(lat, "N", "S"), _degrees(lng, "E", "W")
        return _case("coordinates", locale, rng.choice(COORDINATE_CARRIERS), lat=lat, lng=lng)

    return make


def is_found(case: ValueCase, findings: Sequence[FindingLike], min_score: float = 0.5) -> bool:
    covered = {i for f in findings if f.score >= min_score for i in range(f.start, f.end)}
    return all(i in covered for start, end in case.spans for i in range(start, end) if case.text[i].isalnum())


def main() -> None:
    import os

    from policies.pii.analyzer import PIIDetector
    from policies.pii.config import load_default_pii_policy

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    detector = PIIDetector(load_default_pii_policy(), cache_key=os.urandom(32), cache_entries=0)
    cases = generate(args.seed, args.per_class)
    findings = [detector.detect(case.text) for case in cases]
    totals: dict[str, list[int]] = {}
    missed = []
    for case, found in zip(cases, findings, strict=True):
        entry = totals.setdefault(case.kind, [0, 0])
        entry[1] += 1
        if is_found(case, found):
            entry[0] += 1
        else:
            missed.append(case)
    for kind, (hits, total) in totals.items():
        print(f"seed {args.seed}: {kind:12} removed {hits} / {total} ({hits / total:.3f})")
    for case in missed[: args.show_misses]:
        print(f"{case.kind} {case.locale} | {case.values!r} | {case.text!r}")


if __name__ == "__main__":
    main()
