"""Bank account numbers (BANK_ACCOUNT: account numbers, routing and transit numbers, sort codes,
BSBs) and passport numbers of any country (PASSPORT). Their shapes are any code's (six to
thirty digits; a letter or two and digits), so each is found only right after its word
("account", "acct no.", "routing number", "sort code", "passport no." ...), with nothing but
filler between ("number", "no.", "#", "is", ":"), at 0.85. A bank or a border agency can name the
person behind either, so both are personal data.

Payment cards, IBANs and Chinese bank cards have recognizers of their own (Luhn, MOD 97, a card
word), and a number both report is redacted once, by the stronger finding. PRC passport numbers
are ``CN_PASSPORT``'s alone.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

_ACCOUNT_WORDS = ContextWords(
    [
        *("account", "accounts", "acct", "acct.", "acc no", "acc. no", "acc #", "a/c", "a/c no"),
        *("account no", "account number", "account #", "acct no", "acct #", "acct number"),
        *("routing", "routing no", "routing number", "routing #", "aba", "aba no", "rtn", "aba routing"),
        *("transit number", "transit no", "institution number", "sort code", "sort-code", "bsb"),
        *("账号", "帐号", "账户", "帐户", "银行账号", "银行帐号", "开户账号", "收款账号", "账号是"),
    ]
)
_PASSPORT_WORDS = ContextWords(
    [
        *("passport", "passports", "passport no", "passport number", "passport #", "pp no", "pp#"),
        *("travel document", "travel document no", "护照", "护照号", "护照号码"),
    ]
)
# Only filler may stand between the word and the value: "account number is", "acct #:", "no. ".
_FILLER_RE = regex.compile(
    r"[\s:#.,(\-=]*(?:(?:no|nr|num|number|numbers|id|is|was|are|reads|of|ending|ending\s+in|#|号码|号|是|为)"
    r"(?![A-Za-z])[\s:#.,(\-=]*){0,3}",
    regex.IGNORECASE,
)
# Six to thirty digits, grouped by single spaces or dashes ("12-34-56", "0211 0002 1"), with the
# capital letters of a domestic account number's bank or check code glued on (British
# "NWBK60161331926819", Italian "X0542811101000000123456", Brazilian "...91500ES"), and not running on into more digits, letters or a decimal. Thirty: the
# longest BBANs (France 23, Poland 24, Malta 27) are digits too.
_ACCOUNT_SHAPE_RE = regex.compile(r"(?:[A-Z]{1,4})?\d(?:[ \-]?\d){5,29}(?:[A-Z]{1,2})?(?![\dA-Za-z]|[.,/]\d)")
# Letters and digits of a passport number: "X12345678", "C01X00T47", "J8369854", "123456789".
_PASSPORT_SHAPE_RE = regex.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[ \-](?=\d)){5,11}(?![A-Za-z0-9@_]|[.\-/]\d)")
# A PRC passport number: CnPassportRecognizer reports it (CN_PASSPORT).
_CN_PASSPORT_RE = regex.compile(r"(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7})")
# A date with its year in full (20240305, 05-03-2024): a sort code (20-45-77) has no year.
_DATE_LIKE_RE = regex.compile(r"(?:19|20)\d{2}[01]\d[0-3]\d|\d{1,2}[ \-]\d{1,2}[ \-](?:19|20)\d{2}")


class BankAccountRecognizer(RuleRecognizer):
    """Bank account, routing and transit numbers and sort codes right after their word (account,
    acct, a/c, routing number, ABA, sort code, BSB, 账号 ...) with only filler between, at 0.85:
    six to thirty digits, alone or in groups of at least two, with a bank code's capital letters
    glued on. Without the word nothing is
    reported: the shape is any number's."""

    entity_type = "BANK_ACCOUNT"
    SCORE = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "BANK_ACCOUNT" not in entities or not _ACCOUNT_WORDS.anywhere(text):
            return []
        results: list[RecognizerResult] = []
        for word_end in _ACCOUNT_WORDS.ends(text):
            start = _FILLER_RE.match(text, word_end).end()
            match = _ACCOUNT_SHAPE_RE.match(text, start)
            if match is not None and _looks_like_account(match.group(0)):
                results.append(RecognizerResult("BANK_ACCOUNT", match.start(), match.end(), self.SCORE))
        return results


def _looks_like_account(value: str) -> bool:
    """Digits not all the same, in groups of two or more ("12-34-56", not "1 2 3 4 5 6"), not a
    compact or separated date."""
    digits = [ch for ch in value if ch.isdigit()]
    groups = regex.split(r"[ \-]", value)
    if len(set(digits)) == 1 or any(len(group) < 2 for group in groups):
        return False
    return not _DATE_LIKE_RE.fullmatch(value)


class PassportRecognizer(RuleRecognizer):
    """Passport numbers of any country right after a passport word (passport no., travel document,
    护照 ...) with only filler between, at 0.85: six to twelve letters and digits, at least five
    digits and at most four letters, not a date. PRC passport numbers are CnPassportRecognizer's."""

    entity_type = "PASSPORT"
    SCORE = 0.85

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PASSPORT" not in entities or not _PASSPORT_WORDS.anywhere(text):
            return []
        results: list[RecognizerResult] = []
        for word_end in _PASSPORT_WORDS.ends(text):
            start = _FILLER_RE.match(text, word_end).end()
            match = _PASSPORT_SHAPE_RE.match(text, start)
            if match is not None and _looks_like_passport(match.group(0)):
                results.append(RecognizerResult("PASSPORT", match.start(), match.end(), self.SCORE))
        return results


def _looks_like_passport(value: str) -> bool:
    chars = [ch for ch in value if ch.isalnum()]
    digits = sum(ch.isdigit() for ch in chars)
    if not 6 <= len(chars) <= 12 or digits < 5 or len(chars) - digits > 4:
        return False
    if _CN_PASSPORT_RE.fullmatch("".join(chars).upper()):
        return False
    return not _DATE_LIKE_RE.fullmatch(value)


def account_recognizers() -> list[RuleRecognizer]:
    """The bank-account and passport recognizers."""
    return [BankAccountRecognizer(), PassportRecognizer()]
