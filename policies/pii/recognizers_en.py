"""English-side recognizers: Presidio's own where they suffice, the project's own e-mail, SSN,
context-phone, any-issuer card, IBAN and driver's licence recognizers where they do not, plus date of
birth. Phone and card recognizers are in :mod:`policies.pii.recognizers_en_phones_cards`."""

from __future__ import annotations

import re
from collections.abc import Callable

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    IpRecognizer,
    SpacyRecognizer,
)

from policies.pii.after_word import AfterWord
from policies.pii.context import ContextWords
from policies.pii.date_shapes import MONTHS
from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_email_obfuscated import ObfuscatedEmailRecognizer
from policies.pii.recognizers_en_phones_cards import (
    SEPARATED_DATE_RE,
    CardNumberRecognizer,
    ContextPhoneRecognizer,
    FastPhoneRecognizer,
    LuhnCardRecognizer,
)

__all__ = [
    "DRIVER_LICENSE",
    "CardNumberRecognizer",
    "ContextPhoneRecognizer",
    "DateOfBirthRecognizer",
    "EmailAddressRecognizer",
    "FastPhoneRecognizer",
    "IbanCodeRecognizer",
    "LuhnCardRecognizer",
    "PersonNerRecognizer",
    "SsnRecognizer",
    "english_pattern_recognizers",
    "iban_at",
]

# Characters of an address: ASCII and Latin letters with diacritics, never CJK, so that an address
# glued to Chinese text (绑定邮箱wang.li@corp.io请查收) is matched without the text around it.
_LOCAL = r"[A-Za-z0-9\u00C0-\u024F!#$%&'*+/=?^_`{|}~\-]"
_LABEL = r"[A-Za-z0-9\u00C0-\u024F](?:[A-Za-z0-9\u00C0-\u024F\-]{0,61}[A-Za-z0-9\u00C0-\u024F])?"
_EMAIL_PATTERN = (
    r"(?<![A-Za-z0-9\u00C0-\u024F!#$%&'*+/=?^_`{|}~.\-])"  # the start of a local part, not its middle
    + _LOCAL
    + r"+(?:\."
    + _LOCAL
    + r"+)*@"
    + _LABEL
    + r"(?:\."
    + _LABEL
    + r")*"
    r"(?![A-Za-z0-9\u00C0-\u024F\-])"
)
# Internationalized domains under a Chinese top-level domain (zhang.san@公司.中国): the address ends
# at the top-level name, since Chinese text may follow it without a space.
_IDN_TLDS = (
    "中国 中國 公司 网络 網絡 香港 台湾 台灣 澳门 澳門 新加坡 集团 在线 网站 网址 移动 商城 政务 公益 信息"
).split()
_IDN_LABEL = r"[\p{Han}A-Za-z0-9](?:[\p{Han}A-Za-z0-9\-]{0,61}[\p{Han}A-Za-z0-9])?"
_IDN_EMAIL_PATTERN = (
    r"(?<![A-Za-z0-9\u00C0-\u024F!#$%&'*+/=?^_`{|}~.\-])"
    + _LOCAL
    + r"+(?:\."
    + _LOCAL
    + r"+)*@(?:"
    + _IDN_LABEL
    + r"\.)+(?:"
    + "|".join(sorted(_IDN_TLDS, key=len, reverse=True))
    + r")(?![A-Za-z0-9\-])"
)
_URL_USERINFO_BEFORE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^\s/@:]{0,256}:\Z")
# Dosing shorthand that looks like user@host: "1 tab@bedtime", "metformin 500mg@night".
_SCHEDULE_WORDS = frozenset(
    "night bedtime noon midnight morning evening am pm hs qhs lunch breakfast dinner supper meals".split()
)


class EmailAddressRecognizer(PatternRecognizer):
    """Any syntactically valid e-mail address, whatever its domain.

    Intranet and reserved names (``.local``, ``.internal``, ``.corp``, ``.lan``, ``.home.arpa``,
    ``.example``) and single-label hosts (``ops@fileserver``) are what hospitals and banks use
    internally, so no public-suffix check: a dotted domain whose last label has a letter scores
    1.0 (``lodash@4.17.21`` is a version, not an address), a single-label host 0.8 (its local
    part must start with a letter, and dosing shorthand such as ``tab@bedtime`` is not an address).
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            name="EmailAddressRecognizer",
            patterns=[
                Pattern("email_address", _EMAIL_PATTERN, 0.8),
                Pattern("email_address_idn", _IDN_EMAIL_PATTERN, 0.8),
            ],
            context=["email", "e-mail", "mail"],
            supported_language="en",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        # ``scheme://user:password@host``: the "local part" is a password (the secret rules own
        # it) and the "domain" a server name, not a mailbox.
        return [r for r in results if not _URL_USERINFO_BEFORE.search(text, 0, r.start)]

    def validate_result(self, pattern_text: str) -> bool | None:
        local, _, domain = pattern_text.rpartition("@")
        labels = domain.split(".")
        if len(labels) > 1:
            return any(ch.isalpha() for ch in labels[-1])  # not a version: lodash@4.17.21
        if not local[:1].isalpha() or domain.lower() in _SCHEDULE_WORDS:
            return False
        return None


# US Social Security numbers. Presidio's recognizer scores 9 bare digits 0.05 (0.4 next to "ssn"):
# the answer filter (all findings from 0.3) caught "ssn 536221234", the request side (0.5) let it
# through. Here any 9-digit SSN shape next to an SSN word scores 0.85, whatever separates its
# digits (normalize joins most separators; decimals and dates it keeps apart are bridged here).
_SSN_GAP = "[ .\\-\u2010-\u2015\u2212/]{0,3}"
_SSN_SHAPE_RE = regex.compile(rf"(?<!\d{_SSN_GAP})\d(?:{_SSN_GAP}\d){{8}}(?!{_SSN_GAP}\d)")
_SSN_DASHED_RE = regex.compile(r"\d{3}([- .])\d{2}\1\d{4}")
SSN_CONTEXT = ContextWords(
    [
        # "social" covers "social security (number|no.|#)" and "her social is ...".
        *("ssn", "ssns", "ssn#", "ss#", "ss #", "ss no", "social", "soc sec", "soc. sec", "socsec"),
        *("社会安全号", "社安号"),
    ]
)
_SSN_PLACEHOLDERS = frozenset({"123456789", "987654320", "078051120"})


class SsnRecognizer(RuleRecognizer):
    """US Social Security numbers: ``NNN-NN-NNNN`` (or spaces, dots) alone at 0.5 as Presidio does,
    unless the SSA never issues it (area 000, 666; group 00; serial 0000; published samples such as
    123-45-6789); any 9-digit form (bare, spaced, dashed, slashed) at 0.85 next to an SSN word,
    whatever its digits (a mistyped or sample number the writer calls an SSN is redacted all the
    same: "SSN 123-45-6789"), except one digit repeated (000-00-0000)."""

    entity_type = "US_SSN"
    WITH_CONTEXT = 0.85
    DASHED_ALONE = 0.5

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "US_SSN" not in entities:
            return []
        results: list[RecognizerResult] = []
        for match in _SSN_SHAPE_RE.finditer(text):
            digits = "".join(ch for ch in match.group(0) if ch.isdigit())
            if len(set(digits)) == 1:
                continue
            if SSN_CONTEXT.near(text, match.start(), match.end()):
                score = self.WITH_CONTEXT
            elif _SSN_DASHED_RE.fullmatch(match.group(0)) and _issued_ssn(digits):
                score = self.DASHED_ALONE
            else:
                continue
            results.append(RecognizerResult("US_SSN", match.start(), match.end(), score))
        return results


def _issued_ssn(digits: str) -> bool:
    return not (
        len(set(digits)) == 1
        or digits[:3] in ("000", "666")
        or digits[3:5] == "00"
        or digits[5:] == "0000"
        or digits in _SSN_PLACEHOLDERS
    )


_DATE_RE = re.compile(
    r"(?<![\d.])(?:"
    r"(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"  # 1975-03-04
    r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)?\d{2}"  # 03/04/1975
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # 19750304
    r"|(?:19|20)\d{2}\s*年\s*(?:0?[1-9]|1[0-2])\s*月\s*(?:0?[1-9]|[12]\d|3[01])\s*[日号]"  # 1975年3月4日
    r"|" + MONTHS + r"\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}"  # March 4, 1975
    r"|(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + MONTHS
    + r",?\s+(?:19|20)\d{2}"  # 4 March 1975
    r"|(?:0?[1-9]|[12]\d|3[01])([-/. ])" + MONTHS + r"\1(?:19|20)?\d{2}"  # 3-Mar-1975, 03/Mar/75
    r"|" + MONTHS + r"([-/.])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)\d{2}"  # Mar-03-1975
    r"|(?:19|20)\d{2}([-/.])" + MONTHS + r"\3(?:0?[1-9]|[12]\d|3[01])"  # 1975-Mar-03
    r")(?![\d])",
    re.IGNORECASE,
)
_DOB_BEFORE_RE = re.compile(
    r"(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b|\bb\.d\b|出生|生日|生于|诞生)", re.IGNORECASE
)
_DOB_AFTER_RE = re.compile(r"\s*(?:出生|生人|生)")
# Every birth word above, without its word boundaries: a text without any of these has no date of
# birth, and the date pattern (month names in any case) need not run over it.
_DOB_HINTS = ("born", "birth", "dob", "d.o.b", "b.d")
_DOB_WINDOW = 40
# A birth word in an earlier clause does not make this date a birth date. The dot after a single
# letter ends an abbreviation ("D.O.B. 03 Mar. 75"), not a clause.
_CLAUSE_BREAK_RE = re.compile(r"[，。；;\n,]|(?<!\b[A-Za-z])\.\s")


class DateOfBirthRecognizer(RuleRecognizer):
    """Dates reported as DATE_TIME only when they are a date of birth.

    A date counts when a birth word (born, DOB, date of birth, 出生 ...) comes shortly
    before it with no other date in between, or 出生 directly follows it. Visit dates,
    lab dates and the like are not personal data on their own and stay in the text.
    """

    entity_type = "DATE_TIME"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "DATE_TIME" not in entities or not _may_hold_a_birth_date(text):
            return []
        results: list[RecognizerResult] = []
        previous_end = 0
        for match in _DATE_RE.finditer(text):
            window_start = max(previous_end, match.start() - _DOB_WINDOW)
            before = _CLAUSE_BREAK_RE.split(text[window_start : match.start()])[-1]
            if _DOB_BEFORE_RE.search(before) or _DOB_AFTER_RE.match(text, match.end()):
                results.append(RecognizerResult("DATE_TIME", match.start(), match.end(), 0.85))
            previous_end = match.end()
        return results


def _may_hold_a_birth_date(text: str) -> bool:
    if "生" in text:
        return True
    lowered = text.lower()
    return any(hint in lowered for hint in _DOB_HINTS)


# IBAN length per country (SWIFT's IBAN registry, release 99, and the national IBANs of the
# partial-IBAN countries that publish them).
_IBAN_LENGTHS = {
    **dict.fromkeys(("NO",), 15),
    **dict.fromkeys(("BE",), 16),
    **dict.fromkeys(("DK", "FI", "FO", "GL", "NL", "SD", "FK"), 18),
    **dict.fromkeys(("MK", "SI"), 19),
    **dict.fromkeys(("AT", "BA", "EE", "KZ", "LT", "LU", "XK", "MN"), 20),
    **dict.fromkeys(("CH", "HR", "LI", "LV"), 21),
    **dict.fromkeys(("BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA"), 22),
    **dict.fromkeys(("AE", "GI", "IL", "IQ", "TL", "OM", "SO"), 23),
    **dict.fromkeys(("AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"), 24),
    **dict.fromkeys(("LY", "PT", "ST"), 25),
    **dict.fromkeys(("IS", "TR"), 26),
    **dict.fromkeys(("FR", "GR", "IT", "MC", "MR", "SM", "BI", "DJ"), 27),
    **dict.fromkeys(("AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV", "NI"), 28),
    **dict.fromkeys(("BR", "EG", "PS", "QA", "UA"), 29),
    **dict.fromkeys(("JO", "KW", "MU", "YE"), 30),
    **dict.fromkeys(("MT", "SC"), 31),
    **dict.fromkeys(("LC",), 32),
    **dict.fromkeys(("RU",), 33),
}
# Where an IBAN may begin: a country code and two check digits, in any casing, not inside a word.
_IBAN_START_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")
_IBAN_SEPARATORS = " -\t"


def iban_at(text: str, start: int) -> int | None:
    """Where the IBAN that begins at ``text[start]`` ends: its country's length of letters and
    digits in any casing, groups split by up to two spaces or dashes, a valid MOD 97-10 check,
    and no letter or digit glued to its end. None when there is none."""
    country = text[start : start + 2].upper()
    length = _IBAN_LENGTHS.get(country)
    if length is None:
        return None
    compact: list[str] = []
    position = start
    while len(compact) < length and position < len(text):
        ch = text[position]
        if ch.isascii() and ch.isalnum():
            compact.append(ch.upper())
            position += 1
            continue
        gap = position
        while gap < len(text) and gap - position < 2 and text[gap] in _IBAN_SEPARATORS:
            gap += 1
        if (
            gap == position
            or len(compact) < 4
            or gap >= len(text)
            or not (text[gap].isascii() and text[gap].isalnum())
        ):
            break
        position = gap
    if len(compact) != length or (
        position < len(text) and text[position].isascii() and text[position].isalnum()
    ):
        return None
    value = "".join(compact)
    rearranged = value[4:] + value[:4]
    return position if int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1 else None


class IbanCodeRecognizer(RuleRecognizer):
    """IBANs in any casing (``gb29nwbk60161331926819``, ``de89 3704 0044 0532 0130 00``), compact or
    grouped with spaces or dashes: the country's length and the MOD 97-10 check make it one (1.0).

    Presidio's IbanRecognizer matches upper-case IBANs only, so lower-case ones reached the engine.
    """

    entity_type = "IBAN_CODE"

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "IBAN_CODE" not in entities:
            return []
        results: list[RecognizerResult] = []
        position = 0
        while (match := _IBAN_START_RE.search(text, position)) is not None:
            end = iban_at(text, match.start())
            if end is None:
                position = match.start() + 1
                continue
            results.append(RecognizerResult("IBAN_CODE", match.start(), end, 1.0))
            position = end
        return results


# digits, or digits alone (7-13), some grouped by dashes or spaces; the UK mixes letters and digits.
_LICENSE_WORDS = (
    *("driver's license", "drivers license", "driver license", "driver's licence"),
    *("drivers licence", "driver licence", "driving license", "driving licence", "driver's lic"),
    *("driver lic", "dl#", "dl #", "dl no", "dl number", "dl:", "d.l.", "licence number"),
    *("license number", "licence no", "license no", "lic no", "lic. no", "license", "licence"),
    *("驾照", "驾驶证", "驾驶执照"),
)
_LICENSE_SHAPE_RE = regex.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9*]|[- ](?=\d)){3,24}(?<=[A-Za-z0-9])(?![A-Za-z0-9@_]|[.\-/]\d)"
)


def _looks_like_license(value: str) -> bool:
    chars = [ch for ch in value if ch.isalnum()]
    digits = sum(ch.isdigit() for ch in chars)
    letters = len(chars) - digits
    if not 5 <= len(chars) <= 20 or digits < 4 or letters > (9 if len(chars) >= 16 else 6):
        return False
    return not (_DATE_RE.fullmatch(value) or SEPARATED_DATE_RE.fullmatch(value))


#: Driver's licence numbers right after a licence word (driver's license, DL#, driving licence,
#: 驾照 ...): 5-20 letters and digits, at least 4 digits, at most 6 letters (16-character UK
#: numbers: 9), not a date. Without the word nothing is reported: the shape is any code's.
DRIVER_LICENSE = AfterWord("DRIVER_LICENSE", _LICENSE_WORDS, _LICENSE_SHAPE_RE, _looks_like_license)


# Words spaCy's small model glues onto names at the start of a clause ("Email John ...").
_NOT_NAME_WORDS = frozenset(
    "email e-mail mail chart call phone tel plan patient pt seen refund contact login referral discussed "
    "dear hi hello thanks regards re fw fwd note notes mrn id ssn dob iban card account client "
    "customer holder "
    "summary summarise summarize reviewed".split()
)
# Drug-name stems: the small model often tags a capitalized drug at a sentence start as a person.
_DRUG_RE = re.compile(
    r"(?:pril|olol|statin|formin|sartan|mab|nib|azole|cillin|mycin|oxacin|dipine|parin|lukast|prazole|gliptin|"
    r"glutide|semide|thiazide|profen|codone|zepam|triptan|dronate|vir|amine|oxetine|pam|lam|ine|ide|one)$",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\s,;:()]+")


class PersonNerRecognizer(SpacyRecognizer):
    """spaCy PERSON entities, cleaned of the small model's typical mistakes.

    Spans with digits, '@' or Chinese characters are dropped (identifiers have their own
    recognizers; Chinese names are found by ChineseNameRecognizer); clause words glued to
    a name are cut off; a lone drug-like word is not a person; and ``not_a_name`` (the name
    lexicons' verdict) drops spans that are certainly no name ("Lasix", "Colles", "Charles Schwab").
    """

    def __init__(self, not_a_name: Callable[[str, int, int], bool] | None = None) -> None:
        super().__init__(supported_entities=["PERSON"], ner_strength=0.85, name="PersonNerRecognizer")
        self._not_a_name = not_a_name

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        cleaned: list[RecognizerResult] = []
        for result in super().analyze(text, entities, nlp_artifacts) or []:
            span = text[result.start : result.end]
            if any(ch.isdigit() or ch == "@" or "\u3400" <= ch <= "\u9fff" for ch in span):
                continue
            words = [(m.start(), m.end()) for m in _WORD_RE.finditer(span)]
            while words and span[words[0][0] : words[0][1]].strip(".").lower() in _NOT_NAME_WORDS:
                words.pop(0)
            while words and span[words[-1][0] : words[-1][1]].strip(".").lower() in _NOT_NAME_WORDS:
                words.pop()
            if not words or any(_DRUG_RE.search(span[s:e].strip(".")) for s, e in words if e - s > 6):
                continue
            if len(words) == 1 and len(span[words[0][0] : words[0][1]].strip(".")) <= 1:
                continue
            result.start, result.end = result.start + words[0][0], result.start + words[-1][1]
            if self._not_a_name is not None and self._not_a_name(text, result.start, result.end):
                continue
            cleaned.append(result)
        return cleaned


def english_pattern_recognizers() -> list[EntityRecognizer]:
    """The structured-identifier recognizers of the English side: Presidio's, and the project's own
    where Presidio's miss what hospitals and banks write."""
    return [
        EmailAddressRecognizer(),
        ObfuscatedEmailRecognizer(),
        FastPhoneRecognizer(
            supported_regions=("US", "GB"), context=["phone", "tel", "mobile", "cell", "call"]
        ),
        ContextPhoneRecognizer(),
        CardNumberRecognizer(),
        LuhnCardRecognizer(),
        IbanCodeRecognizer(),
        SsnRecognizer(),
        IpRecognizer(),
        DateOfBirthRecognizer(),
    ]
