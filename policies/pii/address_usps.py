"""USPS street suffixes (Publication 28, Appendix C1), read once per process from
``policies/pii/data/address_usps_suffixes.txt``, split by how sure a house number, a name and the
suffix are of an address on their own."""

from __future__ import annotations

from importlib import resources


def _read_suffixes() -> list[tuple[str, str]]:
    text = resources.files("policies.pii").joinpath("data", "address_usps_suffixes.txt").read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, abbreviation = line.lower().split()
            pairs.append((name, abbreviation))
    return pairs


_PAIRS = _read_suffixes()

#: Every suffix name of the list (alley, crossing, heights ...).
USPS_NAMES = frozenset(name for name, _ in _PAIRS)
#: Standard abbreviations that are no English word nor a clinical abbreviation: after a house number
#: and a capitalized name they make an address on their own (1546 Quarry Xing, 12 Elm Hts).
USPS_SURE_ABBREVIATIONS = frozenset(
    (
        "aly anx blvd bnd byp cswy crk crst cres expy fwy gdns gln grv hbr holw hts hwy jct knl lndg "
        "mdws mnr orch pkwy plz rdg rnch skwy spgs tpke trce trl vlg vly xing xrd"
    ).split()
)
# Abbreviations that are everyday words or clinical abbreviations (Is, Un, mL, dL, Pt, Mt, Ft, Est,
# Ext, CP, PR, BR, CV): too ambiguous even with more evidence.
_AMBIGUOUS = frozenset(
    "is iss un uns ml dl pt pts mt ft cp br pr est ext vl wl bg ky lf rst cor via dm dv".split()
)
#: The other abbreviations: an address only with a tail (unit, postal code, region) or an address word.
USPS_WEAK_ABBREVIATIONS = frozenset(
    abbreviation
    for _, abbreviation in _PAIRS
    if abbreviation not in USPS_SURE_ABBREVIATIONS and abbreviation not in _AMBIGUOUS
)


def _read_au_nz_road_types() -> frozenset[str]:
    text = resources.files("policies.pii").joinpath("data", "address_au_nz_road_types.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


#: Road types of Australia and New Zealand that USPS lacks (Meander, Copse, Tarn, Parklands ...).
AU_NZ_ROAD_TYPES = _read_au_nz_road_types()
