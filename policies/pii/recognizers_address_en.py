"""Street addresses in Latin-script languages (LOCATION): a home address identifies a household.

An address is found from its street line (the anchor) and then extended over what follows it on
the same line and the next ones: unit (Apt. 4, Suite 200), city, region code, postal code and
country, so that the redacted span covers the whole address. Street lines:

- English: house number, name, street type (``221B Baker Street``, ``3968 Bay St``, ``12 Oak Dr``);
- a street type before the name (``Rue de Virton 38``, ``Calle Mayor 5``, ``Via dei Fiorentini
  17``, ``1812 Rue De La Gare``, ``ul. Chrzanowska 61``);
- a street type glued to the name, or after it, then the number (``Kopfhölzistrasse 45``,
  ``Søndergade 52``, ``Koskikatu 25``, ``Piroska u. 97.``, ``Erzsébet tér 19.``);
- PO boxes and military addresses (``PSC 0413, Box 8144`` / ``APO AA 42323``);
- a plain name and a number (``20789 Allika 46``, ``Joaquin Suarez 2906``): with a house number
  before it when a unit, region code, postal code or country follows; without one, only next to
  an address word (lives at, address:, ship to ...) or before two of those.

A street line reads as an address on its own (0.75); one that could be something else (``Ward 7
Nurse Station``, ``3 steps down the road``) needs an address word nearby or a tail with a unit,
postal code, region code or country (0.6). An address word lifts either to 0.85. A ward, room,
bed or floor of the hospital alone (Room 4B, Ward 7, Bed 12, Building C, Floor 3) is no address;
a street name without a house number (the Fifth Avenue shop) is one only after an address word
(lives on Baker Street, 0.85).

Every pattern has bounded repetitions and is tried from a bounded number of positions per
character, so the cost is linear in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.address_patterns_en import (
    ABBREVIATED_TITLES,
    ADDRESS_CONTEXT,
    AFTER_TYPES,
    CITY_FIRST_RE,
    CORNER_BEFORE_RE,
    CORNER_RE,
    COUNTRIES,
    EN_BARE_STREET_RE,
    EN_STREET_RE,
    EN_TYPES,
    EN_WEAK_TYPES,
    EXCLUDED_NAMES,
    GLUED_SUFFIXES_SURE,
    GLUED_SUFFIXES_UNSURE,
    LEAD_RE,
    LINE_END_RE,
    LOWER_STOP,
    MAX_ADDRESS,
    MAX_SEGMENT_TOKENS,
    MAX_TAIL_LINES,
    MEASURES,
    MILITARY_RE,
    NAMED_STREET_RE,
    NOT_PLACE,
    NULL_FIELD,
    NUMBER_BEFORE_LINE_RE,
    NUMBER_BEFORE_RE,
    PARTICLES,
    PO_BOX_RE,
    PREFIX_STREET_RE,
    PREFIX_TYPES_SURE,
    REGION_CODES,
    SPACES_RE,
    TAIL_SEP_RE,
    TAIL_TOKEN_RE,
    TITLE_AFTER_RE,
    UNIT_BEFORE_RE,
    UNIT_WORDS,
)
from policies.pii.address_shapes_en import (
    BARE_ON_HINT_RE,
    BARE_ON_RE,
    CITY_END_RE,
    DE_PREPOSITION_PAIRS,
    DE_PREPOSITIONS,
    HIGHWAY_HINT_RE,
    HIGHWAY_RE,
    LOWER_REGION_RE,
    LOWER_UNIT_HINT_RE,
    LOWER_UNIT_STREET_RE,
    METONYM_STREETS,
    REGION_AFTER_RE,
    RURAL_HINT_RE,
    RURAL_RE,
    TYPE_AFTER_RE,
)
from policies.pii.recognizer_base import RuleRecognizer

__all__ = ["COUNTRIES", "StreetAddressRecognizer", "address_recognizers"]


@dataclass(slots=True)
class _Anchor:
    start: int
    end: int
    sure: bool  # a street line that is an address on its own
    lower: bool = False  # written in lower case: the tail may be too
    needs_context: bool = False  # a name and a number alone (Metformin 500): only with an address word
    score: float | None = None  # fixed score (military, corner), else from the evidence
    two_numbers: bool = False  # a house number on each side of the name (641 Dašická 688)


_DIGIT_RE = regex.compile(r"\d")


class StreetAddressRecognizer(RuleRecognizer):
    """Street addresses in English and other Latin-script languages, street line through country:
    0.75 for a street line that is an address on its own, 0.6 for one confirmed by its tail (unit,
    region code, postal code, country), 0.85 next to an address word (lives at, ship to, address:)."""

    entity_type = "LOCATION"
    SURE = 0.75
    CONFIRMED = 0.6
    WITH_CONTEXT = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "LOCATION" not in entities:
            return []
        if (
            _DIGIT_RE.search(text) is None
            and not ADDRESS_CONTEXT.anywhere(text)
            and (BARE_ON_HINT_RE.search(text) is None or BARE_ON_RE.search(text) is None)
        ):
            return []  # an address has a house, box or postal number, an address word or a street name
        results: list[RecognizerResult] = []
        for anchor in _merge(_anchors(text)):
            if results and anchor.start < results[-1].end:
                continue  # inside the tail of the address before it
            start = _corner_start(text, _lead_start(text, anchor.start))
            typed = TYPE_AFTER_RE.match(text, anchor.end) if anchor.needs_context else None
            if typed is not None:  # Hoge Wei 32 St.: a street type after the name and number
                anchor.end, anchor.needs_context, anchor.score = typed.end(), False, self.CONFIRMED
            end, evidence = _tail_end(text, anchor.end, anchor.lower, start)
            if anchor.two_numbers and not evidence and CITY_END_RE.match(text, anchor.end):
                evidence = frozenset({"city"})  # 641 Dašická 688, Turkovice: a city ends the line
            end = min(end, start + MAX_ADDRESS)  # overlapping street lines chained in odd text
            near = ADDRESS_CONTEXT.near(text, start, anchor.end, before=40, after=0)
            # A name and a number alone need an address word or two kinds of evidence after them.
            confirmed = len(evidence) >= (2 if anchor.needs_context else 1)
            if anchor.needs_context and anchor.score is None and not (near or confirmed):
                continue
            if near:
                score = self.WITH_CONTEXT
            elif anchor.sure:
                score = self.SURE
            elif confirmed:
                score = self.CONFIRMED
            else:
                score = 0.0
            score = max(score, anchor.score or 0.0)
            if not score:
                continue
            results.append(RecognizerResult("LOCATION", start, end, score))
        return results


def _anchors(text: str) -> list[_Anchor]:
    """Every street line in ``text``, with how sure its shape alone is."""
    found: list[_Anchor] = []
    for match in MILITARY_RE.finditer(text):
        found.append(_Anchor(match.start(), match.end(), True, score=0.85))
    for match in PO_BOX_RE.finditer(text):
        found.append(_Anchor(match.start(), match.end(), True))
    found.extend(_shape_anchors(text))
    found.extend(_street_lines(EN_STREET_RE, text, _en_street))
    found.extend(_street_lines(PREFIX_STREET_RE, text, _prefix_street))
    found.extend(_street_lines(NAMED_STREET_RE, text, _named_street))
    for match in EN_BARE_STREET_RE.finditer(text):
        unit = UNIT_BEFORE_RE.search(text, max(0, match.start() - 24), match.start())
        if unit is not None:  # Flat 88 / Griffiths Ridge: the unit stands for the house number
            found.append(_Anchor(unit.start(), match.end(), False, score=0.6))
            continue
        number = NUMBER_BEFORE_LINE_RE.search(text, max(0, match.start() - 32), match.start())
        if number is not None:  # H.No. 718 / Gola Circle: confirmed by the tail or an address word
            found.append(_Anchor(number.start(), match.end(), False))
        elif ADDRESS_CONTEXT.near(text, match.start(), match.end(), before=40, after=0):
            found.append(_Anchor(match.start(), match.end(), False, score=0.6))
    for match in CORNER_RE.finditer(text):
        a, b = match.group("a"), match.group("b")
        if any(ch.isdigit() for ch in a) or _ends_with_type(a) or _ends_with_type(b):
            found.append(_Anchor(match.start(), match.end(), False, score=0.6))
    return found


def _shape_anchors(text: str) -> Iterator[_Anchor]:
    """Rural routes, highway addresses, lines with a unit in any case or script, and streets named
    after a locative preposition; each pattern runs only when the word it needs is in the text."""
    if RURAL_HINT_RE.search(text) is not None:
        for match in RURAL_RE.finditer(text):
            yield _Anchor(match.start(), match.end(), True)
    if HIGHWAY_HINT_RE.search(text) is not None:
        for match in HIGHWAY_RE.finditer(text):
            yield _Anchor(match.start(), match.end(), True)
    if LOWER_UNIT_HINT_RE.search(text) is not None:
        for match in LOWER_UNIT_STREET_RE.finditer(text):
            if match.group("name").split()[0].lower() not in MEASURES:
                yield _Anchor(match.start(), match.end(), True, lower=True)
    if BARE_ON_HINT_RE.search(text) is not None:
        for match in BARE_ON_RE.finditer(text):
            if match.group("street") in METONYM_STREETS:
                continue
            if match.group("name").split()[0].lower() not in PARTICLES:
                yield _Anchor(match.start("street"), match.end("street"), False, score=0.6)


def _street_lines(
    pattern: regex.Pattern[str], text: str, judge: Callable[[str, regex.Match[str]], _Anchor | None]
) -> Iterator[_Anchor]:
    """The matches of ``pattern`` that ``judge`` takes as street lines. A rejected match is
    searched again from its second character ("Dexter lives on Ziegelgasse 19": not the name
    "Dexter lives on Ziegelgasse" but "Ziegelgasse 19"); each start is tried once."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        anchor = judge(text, match)
        if anchor is None:
            position = match.start() + 1
        else:
            yield anchor
            position = match.end()


def _en_street(text: str, match: regex.Match[str]) -> _Anchor | None:
    words = match.group("name").split()
    if (words[0].lower() in PARTICLES and words != ["The"]) or words[0].lower() in MEASURES:
        return None  # "2 tablets a day way"; but 5 The Crescent
    if any(w in LOWER_STOP for w in words):
        return None  # "40 for a fall": a sentence, not a name
    street_type = match.group("type")
    end = match.end()
    if street_type.lower() not in EN_TYPES or street_type.islower():
        # The name may have run past a street type: "2 Main Street branch" is 2 Main Street.
        for index in range(len(words) - 1, 0, -1):
            if words[index].lower() in EN_TYPES and words[index][0].isupper():
                words, street_type = words[:index], words[index]
                end = match.start("name") + _word_end(match.group("name"), index)
                break
    if street_type.lower() in ABBREVIATED_TITLES and TITLE_AFTER_RE.match(text, end - (text[end - 1] == ".")):
        return None  # "Ward 7 Nurse Dr. Patel": a title when a capitalized word follows it
    lower = any(w[0].islower() and w.lower() not in PARTICLES for w in words) or street_type.islower()
    # "247, Chander Street" (India, and some British writing) is a street line only with a tail or an
    # address word: "In 2019, Main Street was closed" is prose.
    sure = not lower and street_type.lower() in EN_TYPES and match.group("comma") is None
    return _Anchor(match.start(), end, sure, lower=lower)


def _prefix_street(text: str, match: regex.Match[str]) -> _Anchor | None:
    before = NUMBER_BEFORE_RE.search(text, max(0, match.start() - 24), match.start())
    num, hn = (before.group("num") if before else None), match.group("hn")
    street_type = match.group("type")
    if num is None and hn is None:
        named = match.group("name").split()
        if street_type.lower() not in PREFIX_TYPES_SURE or not any(w[0].isupper() for w in named):
            return None
        name_before = _CAPITALIZED_BEFORE_RE.search(text, max(0, match.start() - 40), match.start())
        if named[0].lower().rstrip(".") in UNIT_WORDS or name_before is not None:
            return None  # "4970 Vitolina Rue Apt. 940": the type ends an English street line
        # "chemin Lévy / 47587 Thomas": no house number, so an address only with a tail (a postal
        # code, a unit, a region) or an address word.
        last = max(i for i, w in enumerate(named) if w[0].isupper())
        return _Anchor(match.start(), match.start("name") + _word_end(match.group("name"), last), False)
    if num is not None and hn is not None and "," in text[match.end("name") : match.start("hn")]:
        hn = None  # 13 avenue Jean Jaurès, 69002 Lyon: the second number is the postal code
    words = match.group("name").split()
    if hn is None:  # the name ends before a unit: 31 rue de la Hulotais Apt. 087
        cut = next((i for i, w in enumerate(words) if w.lower().rstrip(".") in UNIT_WORDS), len(words))
        words = words[:cut]
    if not any(w[0].isupper() for w in words):
        return None  # "sent via fax 3 times"; "31 Rue tachkent" is found by its unit or address word
    sure_type = street_type.lower() in PREFIX_TYPES_SURE  # rue, ul., calle: written in either case
    # "11, rue Guillon" needs its tail or an address word: "En 2019, rue de la Paix était fermée".
    comma = before is not None and before.group("comma") is not None
    sure = not comma and (sure_type or (street_type[0].isupper() and num is not None and hn is None))
    if hn is not None:
        end = match.end()
    elif match.group("hn") is not None:
        end = match.end("name")
    else:  # up to the name's last capitalized word: "12 rue de la Paix and then ..."
        last = max(i for i, w in enumerate(words) if w[0].isupper())
        end = match.start("name") + _word_end(match.group("name"), last)
    start = before.start() if before else match.start()
    return _Anchor(start, end, sure, lower=not sure_type and street_type[0].islower())


# A capitalized word right before a position (a name before a street type: English order).
_CAPITALIZED_BEFORE_RE = regex.compile(r"(?<![\p{L}\p{M}])\p{Lu}[\p{L}\p{M}'’\-]{0,30}[ \t]+\Z")


def _word_end(phrase: str, index: int) -> int:
    """Where the ``index``-th space-separated word of ``phrase`` ends."""
    position = 0
    for word in phrase.split()[: index + 1]:
        position = phrase.index(word, position) + len(word)
    return position


def _named_street(text: str, match: regex.Match[str]) -> _Anchor | None:
    words = [w.rstrip(".") for w in match.group("name").split()]
    last = words[-1].lower()
    if any(not w for w in words) or words[0].lower() in EXCLUDED_NAMES or words[0].lower() in UNIT_WORDS:
        return None  # Flat 35 is the unit before a street line, not a street (LEAD_RE takes it)
    if last in EXCLUDED_NAMES and last not in AFTER_TYPES:
        return None  # Ward 7, Main Building 3
    if last not in AFTER_TYPES and any(w[0].islower() and w.lower() not in PARTICLES for w in words):
        return None  # lower-case words only before a street type: Árpád fejedelem útja 62.
    if len(words) == 1 and words[0].isupper() and (len(words[0]) <= 4 or match.group("num") is None):
        return None  # a lab value or code: Na 140, HR 72, LOINC 4548-4
    if last in AFTER_TYPES and len(words) >= 2:
        return _Anchor(match.start(), match.end(), True)
    first = words[0].lower()
    if (
        len(words) >= 2
        and words[-1][0].isupper()
        and (
            (first in DE_PREPOSITIONS and words[0][0].isupper())
            or (words[0][0].isupper() and f"{first} {words[1]}" in DE_PREPOSITION_PAIRS and len(words) >= 3)
        )
    ):
        return _Anchor(match.start(), match.end(), True)  # Am Anger 5, An der Kirche 2
    if _glued(last, GLUED_SUFFIXES_SURE):
        # The street is the last word ("Neue Adresse Kopfhölzistrasse 45"); numbers before it
        # are taken by _lead_start.
        return _Anchor(
            match.start("name") + match.group("name").rindex(" ") + 1 if len(words) > 1 else match.start(),
            match.end(),
            True,
        )
    if _glued(last, GLUED_SUFFIXES_UNSURE) and match.group("num") is not None:
        return _Anchor(match.start(), match.end(), True)
    # A name and a number alone (Metformin 500, Sludevej 13 without a house number before it): an
    # address only next to an address word or before a confirming tail.
    needs_context = match.group("num") is None and not _glued(last, GLUED_SUFFIXES_UNSURE)
    two_numbers = match.group("num") is not None and words[0].lower() not in MEASURES
    return _Anchor(match.start(), match.end(), False, needs_context=needs_context, two_numbers=two_numbers)


def _glued(word: str, suffixes: tuple[str, ...]) -> bool:
    """Whether ``word`` is a name of three letters or more and one of ``suffixes``."""
    if not word.endswith(suffixes):
        return False
    return any(word.endswith(suffix) and len(word) >= len(suffix) + 3 for suffix in suffixes)


def _ends_with_type(phrase: str) -> bool:
    words = phrase.split()
    return bool(words) and words[-1].lower().rstrip(".") in {*EN_TYPES, *EN_WEAK_TYPES, *AFTER_TYPES}


def _merge(anchors: list[_Anchor]) -> list[_Anchor]:
    """Overlapping street lines as one, as sure as the surest; in text order."""
    anchors.sort(key=lambda a: (a.start, -a.end))
    merged: list[_Anchor] = []
    for anchor in anchors:
        if merged and anchor.start < merged[-1].end:
            last = merged[-1]
            last.end = max(last.end, anchor.end)
            last.sure = last.sure or anchor.sure
            last.lower = last.lower and anchor.lower
            last.needs_context = last.needs_context and anchor.needs_context
            last.two_numbers = last.two_numbers or anchor.two_numbers
            last.score = _combined(last.score, anchor.score)
        else:
            merged.append(anchor)
    return merged


def _combined(a: float | None, b: float | None) -> float | None:
    """The higher fixed score (military address, street corner); the evidence may raise it."""
    return b if a is None else a if b is None else max(a, b)


def _lead_start(text: str, start: int) -> int:
    """Where the address starts: before a unit and house numbers written ahead of the street line,
    and before a postal code and city written first (6720 Szeged, Rákóczi u. 4.)."""
    lead = LEAD_RE.search(text, max(0, start - 40), start)
    if lead is not None:
        start = lead.start()
    else:
        unit = UNIT_BEFORE_RE.search(text, max(0, start - 24), start)
        if unit is not None:  # Unit 42 / 5 Thompson Road
            start = unit.start()
    city = CITY_FIRST_RE.search(text, max(0, start - 60), start)
    return city.start() if city is not None else start


def _corner_start(text: str, start: int) -> int:
    """Where an address starts that names a corner: a street name and "and" before the street line
    ("return to Leon and Eyrarodda 66", "address: Maarit and Hersnapvej 75"), when the street name
    opens the text, a line or a clause, or follows "to", "at", "of" or "on"."""
    corner = CORNER_BEFORE_RE.search(text, max(0, start - 48), start)
    return corner.start("street") if corner is not None else start


def _tail_end(text: str, position: int, lower: bool, start: int) -> tuple[int, frozenset[str]]:
    """Where the address whose street line ends at ``position`` ends, and what its tail holds that
    confirms an address: "unit", "postal" (code), "region" (code), "country"."""
    limit = min(len(text), start + MAX_ADDRESS)
    end = position
    evidence: set[str] = set()
    plain: list[int] = []  # ends of plain place segments (a city) since the last confirming one
    lines = 0
    while position < limit:
        sep = TAIL_SEP_RE.match(text, position, limit)
        if sep is None:
            break
        if sep.group("nl"):
            lines += 1
            if lines > MAX_TAIL_LINES:
                break
        after_comma = "," in sep.group(0)
        segment = _segment(text, sep.end(), limit, lower, bool(sep.group("nl")), after_comma)
        if segment is None:
            break
        seg_end, found = segment
        if found:
            if sep.group("blank") and "postal" not in found and "country" not in found:
                break  # a blank line ends an address unless a postal code or country follows it
            end, plain = seg_end, []
            evidence |= found
        elif sep.group("blank") or len(plain) == 2:
            break  # a third plain line in a row: text, not address
        else:
            plain.append(seg_end)
        position = seg_end
    if plain:
        end = plain[0]  # one plain line after the last confirmed part: the city
    return end, frozenset(evidence)


def _segment(
    text: str, position: int, limit: int, lower: bool, whole_line: bool, after_comma: bool
) -> tuple[int, set[str]] | None:
    """A run of tail tokens from ``position`` separated by spaces: its end and the evidence it holds
    (see _tail_end). None when nothing address-like starts there, or when it starts a line
    that goes on with other text and holds no evidence."""
    tokens: list[str] = []
    kinds: list[str] = []
    end = position
    cursor = position
    while cursor < limit and len(tokens) < MAX_SEGMENT_TOKENS:
        token = TAIL_TOKEN_RE.match(text, cursor, limit)
        if token is None:
            break
        kind = token.lastgroup if token.lastgroup != "dot" else "word"
        value = token.group(0)
        if kind == "lower":
            if value == NULL_FIELD:
                kind = "postal"
            elif lower and value.upper() in REGION_CODES and LOWER_REGION_RE.match(text, token.start()):
                kind, value = "word", value.upper()  # eugene, or 97401
            elif value in PARTICLES and tokens:
                kind = "particle"
            elif not lower or value in LOWER_STOP:
                break
        elif kind == "number" and not (after_comma and not tokens):
            break  # a short number is a region code only right after a comma (Marseille, 13)
        if not tokens and not value.isupper() and value.lower().rstrip(".") in NOT_PLACE:
            region = REGION_AFTER_RE.match(text, token.end(), limit)
            if region is None or region.group("code").upper() not in REGION_CODES:
                return None  # Mobile: 0490 39 07 81 is a phone label; Mobile, AL 36602 a city
        tokens.append(value)
        kinds.append(kind)
        cursor = token.end()
        if kind != "particle":
            end = cursor
        if token.group("dot") and len(value) > 4:
            break  # the end of a sentence
        space = SPACES_RE.match(text, cursor, limit)
        if space is None:
            if kind == "word" and value.endswith("-") and cursor < limit and text[cursor].isdigit():
                continue  # Sasaram-330609: a city and its postal code joined by a hyphen (India)
            break
        cursor = space.end()
    while kinds and kinds[-1] == "particle":
        kinds.pop()
        tokens.pop()
    if not tokens:
        return None
    found = _evidence(tokens, kinds, after_comma)
    if whole_line and not found and not LINE_END_RE.match(text, end):
        return None  # a line that goes on with other text is not part of the address
    return end, found


def _evidence(tokens: list[str], kinds: list[str], after_comma: bool) -> set[str]:
    found = {kind for kind in kinds if kind in ("unit", "postal")}
    if "postal" in kinds and "word" in kinds:
        found.add("postal_city")  # 20095 Hamburg, Leeds LS6 2AB
    if any(token in REGION_CODES for token in tokens) or (
        after_comma and len(tokens[0]) <= 3 and tokens[0].isupper()
    ):
        found.add("region")  # Boston, MA / Beerze, OV
    words = [t.lower().rstrip(".") for t, k in zip(tokens, kinds, strict=True) if k in ("word", "lower")]
    if any(" ".join(words[i:]) in COUNTRIES for i in range(max(0, len(words) - 4), len(words))):
        found.add("country")
    return found


def address_recognizers() -> list[RuleRecognizer]:
    """The recognizers of Latin-script street addresses."""
    return [StreetAddressRecognizer()]
