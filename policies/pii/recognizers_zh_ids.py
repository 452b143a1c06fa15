"""Chinese identifiers: resident ID cards, mobile numbers, bank cards and passports, each a
pattern whose score rises near a context word (``context.has_context``: Presidio's lemma-based
context enhancer sees a run of Chinese characters as one token, so it cannot find 护照 in
护照号码E12345678)."""

from __future__ import annotations

import datetime as _dt
import re

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.checksums import is_luhn_valid, is_valid_cn_id
from policies.pii.context import has_context


class _ContextPatternRecognizer(PatternRecognizer):
    """A pattern recognizer whose score rises to ``context_score`` near a context word."""

    CONTEXT_WORDS: tuple[str, ...] = ()
    CONTEXT_SCORE = 0.9

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            if has_context(text, result.start, result.end, self.CONTEXT_WORDS):
                result.score = max(result.score, self.CONTEXT_SCORE)
        return results


# First two digits of a resident ID: province-level division (GB/T 2260), Taiwan, Hong Kong, Macau.
_CN_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82".split()
)


def is_plausible_cn_id(value: str) -> bool:
    """An 18-character resident ID shape with a real province code and a possible birth date,
    whatever its check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[:2] not in _CN_ID_PROVINCES:
        return False
    try:
        birth = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1900 <= birth.year and birth <= _dt.date.today()


class CnIdCardRecognizer(_ContextPatternRecognizer):
    """PRC resident identity number: 18 characters with a plausible region and birth date.

    A correct MOD 11-2 check character scores 1.0. A wrong one scores 0.6 (0.85 next to an ID
    word): a mistyped ID still identifies its holder, and one typo in 18 characters is common.
    """

    CONTEXT_WORDS = ("身份证", "证件", "id card", "identity", "resident id", "公民身份")
    CONTEXT_SCORE = 0.85  # for a wrong check character; a valid ID scores 1.0 anyway

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CN_ID_CARD",
            name="CnIdCardRecognizer",
            patterns=[Pattern("cn_id_18", r"(?<!\d)[1-9]\d{16}[\dXx](?![\dA-Za-z])", 0.6)],
            context=[],
            supported_language="en",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if is_valid_cn_id(pattern_text):
            return True
        return None if is_plausible_cn_id(pattern_text) else False


class CnMobileRecognizer(_ContextPatternRecognizer):
    """Mainland phone numbers, as PHONE_NUMBER: mobiles (1[3-9] + 9 digits, with +86, 0086, 86- or
    (+86) before them) and landlines with an area code.

    A landline in parentheses, ``(010)62770309``, is one by its shape. Written plain or with dashes
    or spaces (normalization joins those), ``0571-8888 8888`` is 11 or 12 digits starting with 0,
    which other numbers can be too: it counts next to a phone word only.
    """

    CONTEXT_WORDS = (
        *("电话", "手机", "联系", "致电", "座机", "固话", "拨打", "回拨", "来电", "回电", "热线", "传真"),
        *("总机", "分机", "打", "拨", "phone", "mobile", "tel", "call", "cell", "fax"),
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="CnMobileRecognizer",
            patterns=[
                Pattern(
                    "cn_mobile",
                    r"(?<![\d+])(?:(?:\+|00)?86[- ]?|\(\+?86\) ?)?1[3-9]\d{9}(?!\d)",
                    0.75,
                ),
                Pattern(
                    "cn_landline_parenthesized", r"(?<!\d)\(0(?:10|2\d|[3-9]\d\d)\) ?[2-9]\d{6,7}(?!\d)", 0.75
                ),
                # Below the detector's floor unless a phone word is near (CONTEXT_SCORE).
                Pattern("cn_landline", r"(?<![\d+])0(?:10|2\d|[3-9]\d\d)[2-9]\d{6,7}(?!\d)", 0.25),
            ],
            context=[],
            supported_language="en",
        )


_UNIONPAY = r"(?<!\d)62\d{14,17}(?!\d)"  # UnionPay BINs start with 62


class BankCardRecognizer(_ContextPatternRecognizer):
    """Payment card numbers of 16-19 digits with a valid Luhn check, UnionPay 62 BINs first.

    Reported as CREDIT_CARD so that one policy entry covers every payment card.
    """

    CONTEXT_WORDS = ("卡号", "银行卡", "信用卡", "借记卡", "储蓄卡", "card", "account", "账号", "账户")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="BankCardRecognizer",
            patterns=[
                Pattern("unionpay", _UNIONPAY, 0.85),
                Pattern("card_16_19", r"(?<!\d)[3-6]\d{15,18}(?!\d)", 0.6),
            ],
            context=[],
            supported_language="en",
        )

    def validate_result(self, pattern_text: str) -> bool:
        if len(pattern_text) == 18 and is_plausible_cn_id(pattern_text):
            return False  # a resident ID, even one with a wrong check character
        return is_luhn_valid(pattern_text)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Luhn-valid cards as above, and a UnionPay number that fails the check next to a payment
        word ("转账到 6222 0212 3456 7890 123"): a mistyped card number still names an account."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if "CREDIT_CARD" not in entities:
            return results
        for match in _UNIONPAY_RE.finditer(text):
            value = match.group(0)
            if is_luhn_valid(value) or (len(value) == 18 and is_plausible_cn_id(value)):
                continue  # reported above, or a resident ID
            if has_context(text, match.start(), match.end(), _PAYMENT_WORDS):
                score = self.CONTEXT_SCORE
                results.append(RecognizerResult("CREDIT_CARD", match.start(), match.end(), score))
        return results


_UNIONPAY_RE = regex.compile(_UNIONPAY)
# Where a card number is written to pay or be paid: card words and transfers.
_PAYMENT_WORDS = (
    *BankCardRecognizer.CONTEXT_WORDS,
    *("转账", "汇款", "收款", "付款", "打款", "到账", "还款", "transfer", "wire", "remit", "pay"),
)


#: A PRC passport number's shape (E/G + 8 digits, E + letter + 7 digits, D/S/P + 7 digits).
CN_PASSPORT_SHAPE = r"[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7}"


class CnPassportRecognizer(_ContextPatternRecognizer):
    """PRC passport numbers (E/G + 8 digits, E + letter + 7 digits, D/S/P + 7 digits).

    The shape alone is weak evidence, so only a context word (护照, passport) lifts
    the score above the usual threshold.
    """

    CONTEXT_WORDS = ("护照", "passport", "旅行证件", "travel document")

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CN_PASSPORT",
            name="CnPassportRecognizer",
            patterns=[
                Pattern(
                    "cn_passport",
                    r"(?<![A-Za-z0-9])(?:" + CN_PASSPORT_SHAPE + r")(?![A-Za-z0-9])",
                    0.4,
                ),
            ],
            context=[],
            supported_language="en",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        # Passport letters are upper case; do not let Presidio's IGNORECASE flag widen it.
        return super().analyze(text, entities, nlp_artifacts, re.DOTALL | re.MULTILINE)
