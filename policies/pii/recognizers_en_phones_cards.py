"""Phone numbers (libphonenumber's, skipped when no 7-digit run; and a context-word recognizer
for shapes it misses) and payment card numbers of any issuer (Luhn-checked, near a card word)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import cast

import phonenumbers
import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    PhoneRecognizer,
)

from policies.pii.checksums import is_luhn_valid
from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_zh_ids import is_plausible_cn_id

_IPV4_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_PHONE_HINT_RE = re.compile(r"\d(?:[\s().\-+/]{0,3}\d){6}")


# Every number libphonenumber validates has 7 characters at least: GB's shortest national numbers
# have 7 digits, the US's 10, and a number in international form "+", a country code and the
# shortest national number anywhere ("+43" and 4 digits). Shorter candidates (doses, times, "96")
# cannot match, so the matcher skips them instead of parsing each one.
MIN_PHONE_CANDIDATE = 7
# Parse-and-verify outcomes remembered per candidate: a stream's detector sees the same number
# again with more text around it (the held word, then its left context).
_VERIFIED_LIMIT = 4096
_verified: dict[tuple[str, str, str, str | None, int], phonenumbers.PhoneNumber | None] = {}


def _neighbour_class(ch: str) -> str:
    """What the matcher's verdict can depend on in a character next to a candidate: only letters,
    combining marks, currency signs and "%" may reject it, so every other character is alike."""
    if ch == "%" or unicodedata.category(ch) in ("Sc", "Mn") or ch.isalpha():
        return ch
    return ""


class _RememberingMatcher(phonenumbers.PhoneNumberMatcher):
    """libphonenumber's matcher, remembering its verdict on each candidate. The verdict depends on
    the candidate, the region, the leniency and the characters right before and after it (a Latin
    letter or a currency sign there rejects it): those make the key, so the matches are the same.
    The stream filter's second look at a number, with its left context, then costs no parse.

    A candidate wholly inside one of ``covered`` (spans the caller redacts anyway) is not parsed:
    every match it could give, inner ones included, lies inside it, so no character changes."""

    covered: Sequence[tuple[int, int]] = ()

    def _extract_match(self, candidate: str, offset: int) -> phonenumbers.PhoneNumberMatch | None:
        end = offset + len(candidate)
        if any(start <= offset and end <= stop for start, stop in self.covered):
            return None
        match: phonenumbers.PhoneNumberMatch | None = super()._extract_match(candidate, offset)
        return match

    def _parse_and_verify(self, candidate: str, offset: int) -> phonenumbers.PhoneNumberMatch | None:
        end = offset + len(candidate)
        before = _neighbour_class(self.text[offset - 1]) if offset > 0 else ""
        after = _neighbour_class(self.text[end]) if end < len(self.text) else ""
        key = (candidate, before, after, self.preferred_region, int(self.leniency))
        try:
            number = _verified[key]
        except KeyError:
            match: phonenumbers.PhoneNumberMatch | None = super()._parse_and_verify(candidate, offset)
            if len(_verified) >= _VERIFIED_LIMIT:
                _verified.clear()
            _verified[key] = number = match.number if match is not None else None
        if number is None:
            return None
        return phonenumbers.PhoneNumberMatch(offset, candidate, number)


class FastPhoneRecognizer(PhoneRecognizer):
    """Presidio's libphonenumber recognizer, skipped when the text has no 7-digit run, with the
    same matches for less work: candidates too short to be valid are not parsed, a candidate seen
    before is not parsed again, and no region is looked up for the explanation.

    Numbers that libphonenumber validates for a region are reported at 0.6 rather than
    0.4: validation already rules out most random digit strings.
    """

    SCORE = 0.6

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
        covered: Sequence[tuple[int, int]] = (),
    ) -> list[RecognizerResult]:
        """Presidio's analysis; with ``covered``, spans the caller redacts whatever is found in
        them, a number wholly inside one is not looked at (the output filter's fast path)."""
        if not _PHONE_HINT_RE.search(text):
            return []
        results: list[RecognizerResult] = []
        for region in self.supported_regions:
            matcher = _RememberingMatcher(
                text, region, leniency=cast(int, self.leniency), min_candidate_length=MIN_PHONE_CANDIDATE
            )
            matcher.covered = covered
            for match in matcher:
                if not _IPV4_RE.fullmatch(text[match.start : match.end]):
                    result = self._get_recognizer_result(match, text, region, nlp_artifacts)  # type: ignore[no-untyped-call]
                    results.append(result)
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(results)
        return deduplicated


# A phone shape on normalized text. Normalization joins digit groups of 7 digits or more, so most
# numbers arrive as one run ("+1 (415) 5550137", "+44 (0)2079460958", "06802987063"); groups it
# leaves apart (fewer digits after an area code, "(37) 788-063"; date-like pairs, "71-33-52-22") are
# matched here: groups of two digits or more with one separator kept throughout, so a list of
# decimals ("37.58 38.21") is no phone. A trunk or exit prefix may stand before an area code in
# brackets ("8 (495) 123-45-67"); an extension (x459, ext. 12, extension 4) belongs to the number.
# Every repetition is bounded and separated by a mandatory character: linear.
_PHONE_SHAPE_RE = regex.compile(
    r"(?<![A-Za-z0-9_+\-/.@])(?P<cc>\+\d{1,3}[ \-.]?)?(?:\(0\) ?)?(?:(?:\d{1,3}[ \-]?)?\(\d{1,5}\)[ \-.]?)?"
    r"(?P<number>\d{2,15}(?:(?P<sep>[ \-.])\d{2,15}(?:(?P=sep)\d{2,15}){0,3})?)"
    r"(?P<ext>(?:x| ?(?:ext\.?|extension) ?)\d{1,6})?"
    r"(?![A-Za-z0-9_@]|[.\-/]\d)",
    regex.IGNORECASE,
)
_PHONE_CONTEXT = ContextWords(
    [
        *("phone", "phones", "phoned", "telephone", "telephoned", "tel", "ph", "mobile", "mob", "cell"),
        *("cellphone", "call", "calls", "called", "calling", "callback", "call-back", "fax", "faxed"),
        *("contact", "contacts", "contacted", "reach", "reached", "reachable", "number", "dial", "dialled"),
        *("dialed", "landline", "hotline", "helpline", "pager", "bleep", "whatsapp", "sms", "ext"),
        *("extension", "ring", "rang", "office", "desk", "direct line", "switchboard", "voicemail"),
        *("message", "messages", "messaged", "texted", "text me", "answering", "answered"),
        # Whether someone answers the phone: "not picking up at 080 504 2674", "get hold of her on ...".
        *("pick up", "picks up", "picking up", "picked up", "get hold of", "got hold of"),
        *("电话", "手机", "联系", "致电", "拨打", "来电", "回电", "座机", "固话", "传真", "热线", "号码"),
        *("微信", "短信", "呼叫", "打给", "分机", "电联"),
    ]
)
# A phone's own number right before: "IMEI 490154203237518" passes Luhn (an IMEI's check digit is
# one) and is a device identifier (DEVICE_ID, recognizers_devices), not a payment card.
_DEVICE_NUMBER_BEFORE_RE = regex.compile(
    r"(?<![A-Za-z])(?:imei(?:sv)?|meid|esn)(?![A-Za-z])(?:\s*(?:no\.?|number|#))?\s*[:#=]?\s*$",
    regex.IGNORECASE,
)


def after_device_word(text: str, start: int) -> bool:
    """Whether the number at ``start`` follows a phone's identifier word (IMEI, MEID, ESN)."""
    return _DEVICE_NUMBER_BEFORE_RE.search(text, max(0, start - 24), start) is not None


class CardNumberRecognizer(CreditCardRecognizer):
    """Presidio's payment card recognizer, less the numbers right after IMEI, MEID or ESN."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not after_device_word(text, r.start)]


# Code systems whose numbers are clinical or logistic facts, not phones ("NDC 0002-1433-80").
_CODE_SYSTEM_RE = regex.compile(
    r"(?<![A-Za-z])(?:ndc|loinc|cpt|hcpcs|icd(?:-?1[01]|-?9)?(?:-cm)?|snomed(?: ct)?|sctid|rxnorm|lot|batch"
    r"|gtin|udi|ean|isbn)"
    r"(?![A-Za-z])(?:\s*(?:no\.?|number|code|id|#|:))?\s*$",
    regex.IGNORECASE,
)
_COMPACT_DATE_RE = re.compile(
    r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # 20240305
    r"|(?:19|20)\d{2}(?:19|20)\d{2}"  # 2023-2024
)
# What is left of a date with its separators once normalization kept it apart: 2024-03-05, 12.05.2024.
SEPARATED_DATE_RE = re.compile(
    r"(?:19|20)\d{2}([-. ])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])([-. ])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)?\d{2}"
)


def _phone_country_codes() -> frozenset[str]:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    return frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


# ITU country calling codes (libphonenumber's table): "+" and one of these is a phone on its own.
_COUNTRY_CODES = _phone_country_codes()


class ContextPhoneRecognizer(RuleRecognizer):
    """Phone shapes that libphonenumber does not vouch for: any shape next to a phone word (phone,
    tel, call, fax, contact, office, desk, message, 电话, 手机 ...) or listed right next to an e-mail
    address ("(sarah.j@techcorp.com, 555-123-4567)") at 0.7, and without one a number
    written with a ``+`` and a real country calling code, or with an extension (x459, ext. 12), at 0.6.

    libphonenumber rejects numbers with unassigned area codes and regional shapes outside its
    regions (FastPhoneRecognizer reports only valid ones); next to a phone word a 7-15 digit number
    is a phone all the same: over-redacting a number is cheap, leaking one is not. Dates (20240305,
    2023-2024, 2024-03-05), numbers right after a code system's name (NDC, LOINC, CPT, ICD, lot)
    or a phone's identifier word (IMEI: a DEVICE_ID) and runs of one repeated digit are not phones.
    """

    entity_type = "PHONE_NUMBER"
    SCORE = 0.7
    WITHOUT_CONTEXT = 0.6

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PHONE_NUMBER" not in entities or not _PHONE_HINT_RE.search(text):
            return []
        has_words = _PHONE_CONTEXT.anywhere(text)
        has_email = "@" in text
        if not has_words and not has_email and "+" not in text and not _has_extension_hint(text):
            return []
        results: list[RecognizerResult] = []
        for match in _PHONE_SHAPE_RE.finditer(text):
            without_ext = text[match.start() : match.start("ext")] if match.group("ext") else match.group(0)
            digits = "".join(ch for ch in without_ext if ch.isdigit())
            if not 7 <= len(digits) <= 15 or len(set(digits)) == 1 or _COMPACT_DATE_RE.fullmatch(digits):
                continue
            number = match.group("number")
            if SEPARATED_DATE_RE.fullmatch(number) or _IPV4_RE.fullmatch(number):
                continue  # a date or an IPv4 address kept apart by normalization
            if _CODE_SYSTEM_RE.search(text, max(0, match.start() - 16), match.start()):
                continue
            if after_device_word(text, match.start()):
                continue
            if has_words and _PHONE_CONTEXT.near(text, match.start(), match.end()):
                score = self.SCORE
            elif has_email and _listed_with_an_email(text, match.start(), match.end()):
                score = self.SCORE
            elif match.group("ext") or _has_country_code(match.group("cc"), match.group("number")):
                score = self.WITHOUT_CONTEXT
            else:
                continue
            results.append(RecognizerResult("PHONE_NUMBER", match.start(), match.end(), score))
        return results


# Contact details listed together: an e-mail address, then only a separator, then the number
# ("(sarah.j@techcorp.com, 555-123-4567)", "jane@x.org / 020 7946 0958"), or the other way round.
_EMAIL_THEN_RE = regex.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\)?[ \t]*(?:[,;/|(]|or|and)?[ \t]*\(?\Z")
_THEN_EMAIL_RE = regex.compile(r"\)?[ \t]*(?:[,;/|)]|or|and)[ \t]*\(?[\w.+\-]+@[\w\-]+\.[\w\-]")


def _listed_with_an_email(text: str, start: int, end: int) -> bool:
    """Whether the number at ``text[start:end]`` is listed next to an e-mail address."""
    return (
        _EMAIL_THEN_RE.search(text[max(0, start - 100) : start]) is not None
        or _THEN_EMAIL_RE.match(text, end) is not None
    )


def _has_extension_hint(text: str) -> bool:
    lowered = text.lower()
    return "x" in lowered or "ext" in lowered


def _has_country_code(cc: str | None, number: str) -> bool:
    """Whether ``+`` leads to a real country calling code: in ``cc`` as written, or in the first
    digits of the number when normalization glued them on ("+19031404508")."""
    if cc is None:
        return False
    digits = "".join(ch for ch in cc + number if ch.isdigit())
    return len(digits) >= 8 and any(digits[:size] in _COUNTRY_CODES for size in (1, 2, 3))


# Any payment card number: 12 to 19 digits (normalization has joined its groups) with a valid Luhn
# check, whatever its issuer prefix. Presidio's regex knows the classic prefixes only and missed
# Mastercard's 2-series, 15-digit JCB (2131, 1800), 12-digit Maestro, RuPay, Mir, Verve, UATP.
_CARD_RUN_RE = regex.compile(r"(?<![A-Za-z0-9_+\-.@/])\d{12,19}(?![A-Za-z0-9_@]|[.\-/]\d)")
_CARD_CONTEXT = ContextWords(
    [
        *("card", "cards", "cc", "credit", "debit", "visa", "mastercard", "amex", "maestro", "jcb"),
        *("discover", "diners", "unionpay", "rupay", "mir", "pan", "prepaid", "chargeback"),
        *("卡号", "银行卡", "信用卡", "借记卡", "储蓄卡"),
    ]
)
_ID_CARD_CONTEXT = ContextWords(["id card", "identity card", "身份证", "resident id", "公民身份"])
_COMPACT_TIMESTAMP_RE = re.compile(
    r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d)?"
)


class LuhnCardRecognizer(RuleRecognizer):
    """Payment card numbers of any issuer: a run of 12-19 digits with a valid Luhn check is a card
    number at 0.5, at 0.9 next to a card word (card, cc, credit, debit, visa, 卡号 ...).

    A random long number passes Luhn one time in ten, so an order or accession number is sometimes
    taken for a card: over-redacting a number is cheap, leaking a card is not. Not taken: numbers
    right after a code system's name (SNOMED CT, GTIN, UDI, NDC, ...: clinical facts), compact
    timestamps (202403051430) and resident-ID shapes (an 18-digit number with a province code and a
    birth date) unless a card word is near, and runs of one repeated digit.
    """

    entity_type = "CREDIT_CARD"
    ALONE = 0.5
    WITH_CONTEXT = 0.9

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "CREDIT_CARD" not in entities:
            return []
        results: list[RecognizerResult] = []
        for match in _CARD_RUN_RE.finditer(text):
            digits = match.group(0)
            if len(set(digits)) == 1 or not is_luhn_valid(digits):
                continue
            if _CODE_SYSTEM_RE.search(text, max(0, match.start() - 16), match.start()):
                continue
            if after_device_word(text, match.start()):
                continue
            if _CARD_CONTEXT.near(text, match.start(), match.end()) and not _ID_CARD_CONTEXT.near(
                text, match.start(), match.end()
            ):
                score = self.WITH_CONTEXT
            elif _COMPACT_TIMESTAMP_RE.fullmatch(digits) or is_plausible_cn_id(digits):
                continue
            else:
                score = self.ALONE
            results.append(RecognizerResult("CREDIT_CARD", match.start(), match.end(), score))
        return results


# Driver's licence numbers right after a licence word: "driver's license number F162823540116",
# "DL# D123-4567-8901", "driving licence MORGA657054SM9IJ". US states use one or two letters and
