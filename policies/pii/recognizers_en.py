"""English-side recognizers: Presidio's own, configured offline, plus date of birth."""

from __future__ import annotations

import re

import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)

from policies.pii.recognizer_base import RuleRecognizer

# Public suffix list from the snapshot bundled in the tldextract wheel: no suffix list
# URLs and no cache directory, so tldextract never opens a connection or writes a file.
OFFLINE_TLD_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's EmailRecognizer, validating domains against the bundled suffix list.

    A match does not start with Chinese text glued to the address (邮箱user@example.com).
    """

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            while result.start < result.end and not text[result.start].isascii():
                result.start += 1
        return results

    def validate_result(self, pattern_text: str) -> bool:
        return OFFLINE_TLD_EXTRACT(pattern_text).fqdn != ""


_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_RE = re.compile(
    r"(?<![\d.])(?:"
    r"(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"  # 1975-03-04
    r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)?\d{2}"  # 03/04/1975
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # 19750304
    r"|(?:19|20)\d{2}\s*年\s*(?:0?[1-9]|1[0-2])\s*月\s*(?:0?[1-9]|[12]\d|3[01])\s*[日号]"  # 1975年3月4日
    r"|" + _MONTHS + r"\s+(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}"  # March 4, 1975
    r"|(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + _MONTHS
    + r",?\s+(?:19|20)\d{2}"  # 4 March 1975
    r")(?![\d])",
    re.IGNORECASE,
)
_DOB_BEFORE_RE = re.compile(
    r"(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b|\bb\.d\b|出生|生日|生于|诞生)", re.IGNORECASE
)
_DOB_AFTER_RE = re.compile(r"\s*(?:出生|生人|生)")
_DOB_WINDOW = 40
# A birth word in an earlier clause does not make this date a birth date.
_CLAUSE_BREAK_RE = re.compile(r"[，。；;\n,]|\.\s")


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
        if "DATE_TIME" not in entities:
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


_IPV4_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_PHONE_HINT_RE = re.compile(r"\d(?:[\s().\-+/]{0,3}\d){6}")


class FastPhoneRecognizer(PhoneRecognizer):
    """Presidio's libphonenumber recognizer, skipped when the text has no 7-digit run.

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
    ) -> list[RecognizerResult]:
        if not _PHONE_HINT_RE.search(text):
            return []
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)  # type: ignore[arg-type]
        return [r for r in results if not _IPV4_RE.fullmatch(text[r.start : r.end])]


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
    a name are cut off; a lone drug-like word is not a person.
    """

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], ner_strength=0.85, name="PersonNerRecognizer")

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
            cleaned.append(result)
        return cleaned


def english_pattern_recognizers() -> list[EntityRecognizer]:
    """Presidio's structured-identifier recognizers used by the gateway."""
    return [
        OfflineEmailRecognizer(),
        FastPhoneRecognizer(
            supported_regions=("US", "GB"), context=["phone", "tel", "mobile", "cell", "call"]
        ),
        CreditCardRecognizer(),
        IbanRecognizer(),
        UsSsnRecognizer(),
        IpRecognizer(),
        DateOfBirthRecognizer(),
    ]
