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

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

_ADDRESS_CONTEXT = ContextWords(
    [
        *("address", "addresses", "addr", "lives at", "lives on", "lives in", "living at", "live at"),
        *("resides at", "residing at", "residence", "resident of", "moved to", "moving to"),
        *("ship to", "shipping to", "send to", "sent to", "mail to", "deliver to", "delivered to"),
        *("delivery to", "located at", "domicile", "corner of", "intersection of", "home at"),
        *("return to", "returned to", "forward to", "forwarded to", "post to", "posted to"),
        *("adresse", "anschrift", "wohnhaft", "dirección", "direccion", "domicilio", "endereço"),
        *("morada", "indirizzo", "adres", "woonadres", "osoite", "adress", "住址", "地址"),
    ]
)

# Words of a name (any script with letters: Þórunnarstræti, Λεωφόρος Συγγρού).
_CAP = r"\p{Lu}[\p{L}\p{M}'’\-]{0,30}"
_ANY_WORD = r"\p{L}[\p{L}\p{M}'’\-]{0,30}"
# Up to 10 digits: the normalizer joins digit groups (3378 217 Lovers Lane reads 3378217 Lovers Lane).
_NUM = r"\d{1,10}(?:[A-Za-z]|[ \t]?(?i:bis|ter))?(?:[-/]\d{1,5}[A-Za-z]?)?"
_EDGE = r"(?<![\p{L}\p{N}])"
_END = r"(?![\p{L}\p{N}])"

# Particles that may stand between the capitalized words of a street or place name.
_PARTICLES = frozenset(
    "de del della dei degli di da das do dos du des la le les el los las van von der den ter ten "
    "am an im auf zum zur of the y e i nad pod na sur sous lès en op aan".split()
)

# English street types a house number and a name make an address with, on their own...
_EN_TYPES = (
    "street st str avenue ave av road rd boulevard blvd lane ln drive dr court ct place pl way "
    "terrace terr ter tce highway hwy parkway pkwy circle cir square sq crescent cres close grove "
    "gardens alley trail trl row mews plaza parade pde esplanade expressway freeway motorway "
    "turnpike"
).split()
# ... and the rest of USPS Publication 28's street suffixes, everyday nouns too (Ward 7 Nurse
# Station, the Main Branch): these need more evidence.
_EN_WEAK_TYPES = (
    "alley anex arcade bayou beach bend bluff bluffs bottom branch bridge brook brooks burg burgs "
    "bypass camp canyon cape causeway center centre centers circles cliff cliffs club common commons "
    "corner corners course courts cove coves creek crest crossing crossroad curve dale dam divide "
    "drives estate estates extension extensions fall falls ferry field fields flat flats ford fords "
    "forest forge forges fork forks fort garden gateway glen glens green greens groves harbor harbors "
    "harbour haven heights hill hills hollow inlet island islands isle junction junctions key keys "
    "knoll knolls lake lakes land landing light lights loaf lock locks lodge loop mall manor manors "
    "meadow meadows mill mills mission mount mountain mountains neck orchard oval overpass park parks "
    "parkways pass passage path pike pine pines plain plains point points port ports prairie radial "
    "ramp ranch rapid rapids rest ridge ridges river roads route rue run shoal shoals shore shores "
    "skyway spring springs spur spurs squares station stravenue stream streets summit throughway "
    "trace track trafficway tunnel underpass union unions valley valleys viaduct view views village "
    "villages ville vista walk walks wall ways well wells"
).split()
_ABBREVIATED_TITLES = frozenset({"dr", "st"})  # Dr. Smith, St. Mary's: no type before a name
_TITLE_AFTER_RE = regex.compile(r"\.?[ \t]+(?!(?i:apt|suite|ste|unit|flat)(?![\p{L}]))\p{Lu}")
_EN_TYPE_RE = "|".join(sorted({*_EN_TYPES, *_EN_WEAK_TYPES}, key=len, reverse=True))

# House number, one to four words, street type: 3968 Bay Street, 3911 fourth avenue, 350 5th Ave.
_EN_STREET_RE = regex.compile(
    _EDGE + r"(?P<num>" + _NUM + r")[ \t]+(?P<name>(?:(?:" + _ANY_WORD + r"|\d{1,3}(?:st|nd|rd|th))"
    r"[ \t]+){1,4})(?P<type>(?i:" + _EN_TYPE_RE + r"))(?P<dot>\.)?" + _END
)
# A name and a street type without a house number (lives on Baker Street): with an address word only.
_EN_BARE_STREET_RE = regex.compile(
    _EDGE
    + r"(?P<name>"
    + _CAP
    + r"(?:[ \t]+"
    + _CAP
    + r"){0,3})[ \t]+(?P<type>"
    + _EN_TYPE_RE.title()
    + r")"
    + _END
)

# Street types written before the name; the first group is rarely anything else.
_PREFIX_TYPES_SURE = (
    "rue calle carrer avenida avda rua travessa praça praca largo viale piazza piazzale vicolo "
    "corso strada ulica ul aleja al paseo camino carretera chemin allée allee impasse quai "
    "bulevardul calea λεωφόρος οδός c/"
).split()
_PREFIX_TYPES_UNSURE = "avenue av boulevard bd via place plaza route cours".split()
_PREFIX_TYPE_RE = "|".join(sorted({*_PREFIX_TYPES_SURE, *_PREFIX_TYPES_UNSURE}, key=len, reverse=True))
_NUMBER_BEFORE_RE = regex.compile(_EDGE + r"(?P<num>" + _NUM + r")[ \t]+\Z")
_PREFIX_STREET_RE = regex.compile(
    # The house number before the type (12 rue de la Paix) is looked for behind a match: an optional
    # group ahead of the type would be tried at every position of the text.
    r"\b(?P<type>(?i:" + _PREFIX_TYPE_RE + r"))(?=[. \t/])\.?[ \t]*(?<=[ \t/])"
    r"(?:(?P<name>" + _ANY_WORD + r"(?:[ \t]+" + _ANY_WORD + r"){0,5}?)[ \t]*,?[ \t]*(?P<hn>" + _NUM + r")\.?"
    r"|(?P<name>" + _ANY_WORD + r"(?:[ \t]+" + _ANY_WORD + r"){0,3}))" + _END
)

# Street types glued to the end of the name (German, Nordic, Dutch, Baltic ...) ...
_GLUED_SUFFIXES_SURE = tuple(
    (
        "straße strasse strassa straat stræde straeti stræti gasse gässli platz allee damm ufer steig "
        "vej vejen gade gaden vænget plads vägen gatan gata gränd torget katu kuja polku kaari tori "
        "rinne veien vegen vegur braut laan gracht plein kade singel tänav iela gatvė utca"
    ).split()
)
_GLUED_SUFFIXES_UNSURE = tuple("weg tie vei veg gate stien sti hof hove pad dijk".split())
# ... or written as a word of their own after it (Hungarian u., tér; Stensås terrasse; 136 Filadelfeos Str.).
_AFTER_TYPES = frozenset(
    "u utca út útja tér tere krt körút rkp köz sor fasor sétány kapu terrasse vei vej gade gate "
    "gata straße strasse str straat laan weg platz ulica ul".split()
)
_MEASURES = frozenset(
    "tablet tablets tab tabs capsule capsules caps unit units mg mcg ml g kg puff puffs drop drops "
    "dose doses times x days weeks months years hours minutes mins hrs steps blocks miles km m".split()
)
_EXCLUDED_NAMES = frozenset(
    (
        "room rm ward bed bay floor fl level lvl building bldg block wing unit suite apt station "
        "clinic theatre theater or icu er page day week month year cycle dose step grade stage type "
        "version table figure fig chapter section lot batch gate terminal door desk counter window "
        "branch account acct box case ref order item line row seat zone area sector phase part tier "
        "class patient pt id no number code tablet tablets capsule capsules cap caps vial vials cup "
        "cups bottle bottles pack packs visit appointment slot chair cubicle pod cohort arm study "
        "trial protocol lane track question q test score scale bp hr rr temp spo2 weight height "
        "january february march april may june july august september october november december "
        "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
        "saturday sunday mon tue wed thu fri sat sun"
    ).split()
)
# A name (one to four words) between an optional house number and a house number: 20789 Allika 46,
# Kopfhölzistrasse 45, Piroska u. 97., Kálmán Imre u. 12.
_NAMED_STREET_RE = regex.compile(
    _EDGE
    + r"(?:(?P<num>"
    + _NUM
    + r")[ \t]+)?(?P<name>"
    + _CAP
    + r"\.?(?:[ \t]+(?:"
    + _ANY_WORD
    + r")\.?){0,3})"
    r"[ \t]+(?P<hn>" + _NUM + r")\.?" + _END
)

_UNIT_WORDS = frozenset(
    "apt apartment appt suite ste unit flat floor fl level room rm bldg building box wohnung whg étage "
    "etage piso escalera esc andar bus lgh".split()
)
_UNIT = (
    r"(?:(?:(?i:" + "|".join(sorted(_UNIT_WORDS, key=len, reverse=True)) + r")\.?[ \t]*#?|#)"
    r"[ \t]*[A-Za-z]?\d{1,5}[A-Za-z]?(?:-\d{1,4})?"
    # Spanish floor and door: 7º D (7o D once NFKC-normalized)
    r"|\d{1,2}(?:[º°ª]|o(?![\p{L}]))(?:[ \t]?[A-Z](?![\p{L}]))?)"
)
_PO_BOX_RE = regex.compile(
    _EDGE + r"(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]office[ \t]box|postfach|postboks|postbus|"
    r"apartado(?:[ \t]de[ \t]correos)?|caixa[ \t]postal|casilla)[ \t]*#?[ \t]*\d{1,6}" + _END
)
# PSC 0413, Box 8144 / Unit 8505 Box 9220 / USNS Botolen, then APO|FPO|DPO AA|AE|AP and a ZIP code.
_MILITARY_RE = regex.compile(
    r"(?i)" + _EDGE + r"(?:(?:(?:psc|cmr|unit)[ \t]+\d{1,5},?[ \t]+box[ \t]+\d{1,5}"
    r"|us[a-z]{1,3}[ \t]+\p{L}[\p{L}'\-]{1,30}(?:[ \t]+\p{L}[\p{L}'\-]{1,30})?)"  # a ship: USNS Botolen
    r"[ \t]*(?:,[ \t]*|\r?\n[ \t>?]{0,8}))?(?:apo|fpo|dpo)[ \t]+(?:aa|ae|ap)[ \t]+\d{5}"
    r"(?:-\d{4})?" + _END
)
# The corner of 25 Dili Gianni Street and King Forges.
_CORNER_RE = regex.compile(
    r"(?i:(?:the[ \t]+)?(?:corner|intersection)[ \t]+of)[ \t]+(?P<a>[^\n;:!?]{2,60}?)[ \t]+(?:and|&)[ \t]+"
    r"(?P<b>(?:(?:"
    + "|".join(sorted(_PARTICLES, key=len, reverse=True))
    + r")[ \t]+)?"
    + _CAP
    + r"(?:[ \t]+"
    + _CAP
    + r"){0,3})"
)
# A street name and "and" right before a street line, after the start of the text, a line or a
# clause, or a word that introduces a place.
_CORNER_BEFORE_RE = regex.compile(
    r"(?:^|[\n:?;]|(?<![\p{L}])(?i:to|at|of|on))[ \t>]*(?P<street>\p{Lu}[\p{L}\p{M}'’\-]{1,30})"
    r"[ \t]+(?:and|&)[ \t]+\Z"
)
# What may come just before a street line: a unit and up to two numbers (3369 24 Clarke Avenue,
# Suite 541 6343 Skogstien 106).
_LEAD_NUMBER = _EDGE + r"\d{1,10}[A-Za-z]?[ \t]+"
_LEAD_RE = regex.compile(
    r"(?:" + _EDGE + _UNIT + r"[ \t]*,?[ \t]+(?:" + _LEAD_NUMBER + r"){0,2}|(?:" + _LEAD_NUMBER + r"){1,2}"
    r"|" + _EDGE + r"(?i:apt|suite|unit|flat)\.?[ \t]*#?[ \t]*)\Z"  # Suite 541 6343 joined: Suite 5416343
)

_CITY_FIRST_RE = regex.compile(
    _EDGE + r"(?:\d{4,5}|\d{3}[ \t]\d{2})[ \t]+" + _CAP + r"(?:[ \t]+" + _CAP + r"){0,2}[ \t]*,[ \t]*\Z"
)

# The tail: separators and tokens after a street line.
_TAIL_SEP_RE = regex.compile(
    r"[ \t]*(?:(?P<comma>,)[ \t]*(?:\r?\n[ \t>?]{0,8})?"
    r"|(?P<nl>\r?\n(?P<blank>[ \t]*\r?\n)?)[ \t>?]{0,8}(?:,[ \t]*)?"  # "> " and "??? ": quoted mail
    r"|(?P<space>[ \t]+))"
)
_POSTAL = (
    r"\d{4,10}(?:-\d{3,4})?|\d{2}-\d{3}|\d{3}[ \t]\d{2}|[A-Z]{1,2}-\d{4,5}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|\d{4}[ \t]?[A-Z]{2}(?![\p{L}])"
)
_TAIL_TOKEN_RE = regex.compile(
    r"(?P<unit>"
    + _UNIT
    + r")"
    + _END
    + r"|(?P<postal>"
    + _POSTAL
    + r")"
    + _END
    + r"|(?P<word>\p{Lu}[\p{L}\p{M}'’\-]{0,30}(?P<dot>\.)?|\(\p{L}[\p{L}\p{M} ]{0,20}\))"
    + r"|(?P<number>\d{1,3})"
    + _END
    + r"|(?P<lower>\p{Ll}[\p{L}\p{M}'’\-]{0,30})(?![.\p{N}])"
)
# A line starting with one of these is not part of an address above it.
_NOT_PLACE = frozenset(
    (
        "thanks thank regards best sincerely cheers hi hello dear kind warm yours please patient dr "
        "mr mrs ms miss prof date dob re subject note notes phone tel telephone mobile cell email "
        "e-mail fax the this that i we he she they you it my our his her their meet and but then "
        "also see if when ward bed bay room floor level building diagnosis plan hx tx rx mrn "
        "account iban sort call ref reference order invoice total amount"
    ).split()
)
_LOWER_STOP = frozenset(
    "and or but then to for from is was are were on at in with please thanks if when i we he she "
    "they you it my our his her their not no".split()
)
_NULL_FIELD = "nan"  # an empty field printed by a spreadsheet export
COUNTRIES = frozenset(
    (
        "usa|us|united states|united states of america|america|canada|mexico|brazil|argentina|chile|"
        "uruguay|paraguay|peru|colombia|venezuela|bolivia|ecuador|uk|united kingdom|great britain|"
        "england|scotland|wales|northern ireland|ireland|france|germany|deutschland|austria|"
        "österreich|switzerland|schweiz|suisse|belgium|belgique|netherlands|nederland|"
        "the netherlands|holland|luxembourg|denmark|danmark|norway|norge|sweden|sverige|finland|"
        "suomi|iceland|ísland|greenland|faroe islands|estonia|latvia|lithuania|poland|polska|"
        "czech republic|czechia|slovakia|hungary|magyarország|slovenia|croatia|serbia|bosnia|"
        "montenegro|albania|north macedonia|greece|cyprus|malta|italy|italia|spain|españa|"
        "portugal|romania|bulgaria|moldova|ukraine|belarus|russia|turkey|türkiye|israel|egypt|"
        "morocco|tunisia|algeria|south africa|nigeria|kenya|ghana|india|pakistan|bangladesh|"
        "sri lanka|nepal|china|japan|korea|south korea|taiwan|hong kong|singapore|malaysia|"
        "indonesia|philippines|thailand|vietnam|australia|new zealand|uae|united arab emirates|"
        "saudi arabia|qatar|kuwait|jordan|lebanon"
    ).split("|")
)
_REGION_CODES = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
        "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP AA AE AP "
        "AB BC MB NB NL NS NT NU ON PE QC SK YT NSW VIC QLD SA WA TAS ACT NT"
    ).split()
)
# A line of the address ends at the line's end, a comma, or the end of the sentence.
_LINE_END_RE = regex.compile(r"[ \t]*(?:[.?!;:)]?(?:\r?\n|\Z|[ \t])|,)")
_SPACES_RE = regex.compile(r"[ \t]+")
# Characters, lead to country: inside the 256 that analyzer.WINDOW_OVERLAP allows a finding.
_MAX_ADDRESS = 220
_MAX_TAIL_LINES = 5
_MAX_SEGMENT_TOKENS = 6


@dataclass(slots=True)
class _Anchor:
    start: int
    end: int
    sure: bool  # a street line that is an address on its own
    lower: bool = False  # written in lower case: the tail may be too
    needs_context: bool = False  # a name and a number alone (Metformin 500): only with an address word
    score: float | None = None  # fixed score (military, corner), else from the evidence


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
        if not any(ch.isdigit() for ch in text) and not _ADDRESS_CONTEXT.anywhere(text):
            return []  # an address has a house, box or postal number, or an address word before it
        results: list[RecognizerResult] = []
        for anchor in _merge(_anchors(text)):
            if results and anchor.start < results[-1].end:
                continue  # inside the tail of the address before it
            start = _corner_start(text, _lead_start(text, anchor.start))
            end, evidence = _tail_end(text, anchor.end, anchor.lower, start)
            end = min(end, start + _MAX_ADDRESS)  # overlapping street lines chained in odd text
            near = _ADDRESS_CONTEXT.near(text, start, anchor.end, before=40, after=0)
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
    for match in _MILITARY_RE.finditer(text):
        found.append(_Anchor(match.start(), match.end(), True, score=0.85))
    for match in _PO_BOX_RE.finditer(text):
        found.append(_Anchor(match.start(), match.end(), True))
    found.extend(_street_lines(_EN_STREET_RE, text, _en_street))
    found.extend(_street_lines(_PREFIX_STREET_RE, text, _prefix_street))
    found.extend(_street_lines(_NAMED_STREET_RE, text, _named_street))
    for match in _EN_BARE_STREET_RE.finditer(text):
        if _ADDRESS_CONTEXT.near(text, match.start(), match.end(), before=40, after=0):
            found.append(_Anchor(match.start(), match.end(), False, score=0.6))
    for match in _CORNER_RE.finditer(text):
        a, b = match.group("a"), match.group("b")
        if any(ch.isdigit() for ch in a) or _ends_with_type(a) or _ends_with_type(b):
            found.append(_Anchor(match.start(), match.end(), False, score=0.6))
    return found


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
    if words[0].lower() in _PARTICLES or words[0].lower() in _MEASURES:
        return None  # "2 tablets a day way"
    street_type = match.group("type")
    end = match.end()
    if street_type.lower() not in _EN_TYPES or street_type.islower():
        # The name may have run past a street type: "2 Main Street branch" is 2 Main Street.
        for index in range(len(words) - 1, 0, -1):
            if words[index].lower() in _EN_TYPES and words[index][0].isupper():
                words, street_type = words[:index], words[index]
                end = match.start("name") + _word_end(match.group("name"), index)
                break
    if street_type.lower() in _ABBREVIATED_TITLES and _TITLE_AFTER_RE.match(
        text, end - (text[end - 1] == ".")
    ):
        return None  # "Ward 7 Nurse Dr. Patel": a title when a capitalized word follows it
    lower = any(w[0].islower() and w.lower() not in _PARTICLES for w in words) or street_type.islower()
    sure = not lower and street_type.lower() in _EN_TYPES
    return _Anchor(match.start(), end, sure, lower=lower)


def _prefix_street(text: str, match: regex.Match[str]) -> _Anchor | None:
    before = _NUMBER_BEFORE_RE.search(text, max(0, match.start() - 24), match.start())
    num, hn = (before.group("num") if before else None), match.group("hn")
    if num is None and hn is None:
        return None
    if num is not None and hn is not None and "," in text[match.end("name") : match.start("hn")]:
        hn = None  # 13 avenue Jean Jaurès, 69002 Lyon: the second number is the postal code
    street_type = match.group("type")
    words = match.group("name").split()
    if hn is None:  # the name ends before a unit: 31 rue de la Hulotais Apt. 087
        cut = next((i for i, w in enumerate(words) if w.lower().rstrip(".") in _UNIT_WORDS), len(words))
        words = words[:cut]
    if not any(w[0].isupper() for w in words):
        return None  # "sent via fax 3 times"; "31 Rue tachkent" is found by its unit or address word
    sure_type = street_type.lower() in _PREFIX_TYPES_SURE  # rue, ul., calle: written in either case
    sure = sure_type or (street_type[0].isupper() and num is not None and hn is None)
    if hn is not None:
        end = match.end()
    elif match.group("hn") is not None:
        end = match.end("name")
    else:  # up to the name's last capitalized word: "12 rue de la Paix and then ..."
        last = max(i for i, w in enumerate(words) if w[0].isupper())
        end = match.start("name") + _word_end(match.group("name"), last)
    start = before.start() if before else match.start()
    return _Anchor(start, end, sure, lower=not sure_type and street_type[0].islower())


def _word_end(phrase: str, index: int) -> int:
    """Where the ``index``-th space-separated word of ``phrase`` ends."""
    position = 0
    for word in phrase.split()[: index + 1]:
        position = phrase.index(word, position) + len(word)
    return position


def _named_street(text: str, match: regex.Match[str]) -> _Anchor | None:
    words = [w.rstrip(".") for w in match.group("name").split()]
    last = words[-1].lower()
    if any(not w for w in words) or words[0].lower() in _EXCLUDED_NAMES:
        return None
    if last in _EXCLUDED_NAMES and last not in _AFTER_TYPES:
        return None  # Ward 7, Main Building 3
    if last not in _AFTER_TYPES and any(w[0].islower() and w.lower() not in _PARTICLES for w in words):
        return None  # lower-case words only before a street type: Árpád fejedelem útja 62.
    if len(words) == 1 and words[0].isupper() and (len(words[0]) <= 4 or match.group("num") is None):
        return None  # a lab value or code: Na 140, HR 72, LOINC 4548-4
    if last in _AFTER_TYPES and len(words) >= 2:
        return _Anchor(match.start(), match.end(), True)
    if _glued(last, _GLUED_SUFFIXES_SURE):
        # The street is the last word ("Neue Adresse Kopfhölzistrasse 45"); numbers before it
        # are taken by _lead_start.
        return _Anchor(
            match.start("name") + match.group("name").rindex(" ") + 1 if len(words) > 1 else match.start(),
            match.end(),
            True,
        )
    if _glued(last, _GLUED_SUFFIXES_UNSURE) and match.group("num") is not None:
        return _Anchor(match.start(), match.end(), True)
    # A name and a number alone (Metformin 500, Sludevej 13 without a house number before it): an
    # address only next to an address word or before a confirming tail.
    needs_context = match.group("num") is None and not _glued(last, _GLUED_SUFFIXES_UNSURE)
    return _Anchor(match.start(), match.end(), False, needs_context=needs_context)


def _glued(word: str, suffixes: tuple[str, ...]) -> bool:
    """Whether ``word`` is a name of three letters or more and one of ``suffixes``."""
    if not word.endswith(suffixes):
        return False
    return any(word.endswith(suffix) and len(word) >= len(suffix) + 3 for suffix in suffixes)


def _ends_with_type(phrase: str) -> bool:
    words = phrase.split()
    return bool(words) and words[-1].lower().rstrip(".") in {*_EN_TYPES, *_EN_WEAK_TYPES, *_AFTER_TYPES}


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
    lead = _LEAD_RE.search(text, max(0, start - 40), start)
    if lead is not None:
        start = lead.start()
    city = _CITY_FIRST_RE.search(text, max(0, start - 60), start)
    return city.start() if city is not None else start


def _corner_start(text: str, start: int) -> int:
    """Where an address starts that names a corner: a street name and "and" before the street line
    ("return to Leon and Eyrarodda 66", "address: Maarit and Hersnapvej 75"), when the street name
    opens the text, a line or a clause, or follows "to", "at", "of" or "on"."""
    corner = _CORNER_BEFORE_RE.search(text, max(0, start - 48), start)
    return corner.start("street") if corner is not None else start


def _tail_end(text: str, position: int, lower: bool, start: int) -> tuple[int, frozenset[str]]:
    """Where the address whose street line ends at ``position`` ends, and what its tail holds that
    confirms an address: "unit", "postal" (code), "region" (code), "country"."""
    limit = min(len(text), start + _MAX_ADDRESS)
    end = position
    evidence: set[str] = set()
    plain: list[int] = []  # ends of plain place segments (a city) since the last confirming one
    lines = 0
    while position < limit:
        sep = _TAIL_SEP_RE.match(text, position, limit)
        if sep is None:
            break
        if sep.group("nl"):
            lines += 1
            if lines > _MAX_TAIL_LINES:
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
    while cursor < limit and len(tokens) < _MAX_SEGMENT_TOKENS:
        token = _TAIL_TOKEN_RE.match(text, cursor, limit)
        if token is None:
            break
        kind = token.lastgroup if token.lastgroup != "dot" else "word"
        value = token.group(0)
        if kind == "lower":
            if value == _NULL_FIELD:
                kind = "postal"
            elif value in _PARTICLES and tokens:
                kind = "particle"
            elif not lower or value in _LOWER_STOP:
                break
        elif kind == "number" and not (after_comma and not tokens):
            break  # a short number is a region code only right after a comma (Marseille, 13)
        if not tokens and not value.isupper() and value.lower().rstrip(".") in _NOT_PLACE:
            return None
        tokens.append(value)
        kinds.append(kind)
        cursor = token.end()
        if kind != "particle":
            end = cursor
        if token.group("dot") and len(value) > 4:
            break  # the end of a sentence
        space = _SPACES_RE.match(text, cursor, limit)
        if space is None:
            break
        cursor = space.end()
    while kinds and kinds[-1] == "particle":
        kinds.pop()
        tokens.pop()
    if not tokens:
        return None
    found = _evidence(tokens, kinds, after_comma)
    if whole_line and not found and not _LINE_END_RE.match(text, end):
        return None  # a line that goes on with other text is not part of the address
    return end, found


def _evidence(tokens: list[str], kinds: list[str], after_comma: bool) -> set[str]:
    found = {kind for kind in kinds if kind in ("unit", "postal")}
    if "postal" in kinds and "word" in kinds:
        found.add("postal_city")  # 20095 Hamburg, Leeds LS6 2AB
    if any(token in _REGION_CODES for token in tokens) or (
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
