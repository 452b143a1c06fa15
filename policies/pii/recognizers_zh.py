"""Presidio recognizers for Chinese identifiers, names and addresses.

The recognizers live in their own modules: :mod:`policies.pii.recognizers_zh_ids` (ID cards,
mobile numbers, bank cards, passports), :mod:`policies.pii.recognizers_zh_names` (names in Han
characters; the character classes in :mod:`policies.pii.names_zh_chars`, names with a middle dot in
:mod:`policies.pii.recognizers_zh_dotted`), :mod:`policies.pii.recognizers_zh_pinyin` (names in pinyin) and
:mod:`policies.pii.recognizers_zh_address` (addresses). This module gathers them under one name.
"""

from __future__ import annotations

from policies.pii.recognizers_zh_address import ChineseAddressRecognizer
from policies.pii.recognizers_zh_ids import (
    BankCardRecognizer,
    CnIdCardRecognizer,
    CnMobileRecognizer,
    CnPassportRecognizer,
    is_plausible_cn_id,
)
from policies.pii.recognizers_zh_names import (
    CJK_RE,
    COMPOUND_SURNAMES,
    SINGLE_SURNAMES,
    ChineseNameRecognizer,
    warm_up_jieba,
)
from policies.pii.recognizers_zh_pinyin import PinyinLexicons, pinyin_lexicons, pinyin_names

__all__ = [
    "CJK_RE",
    "COMPOUND_SURNAMES",
    "SINGLE_SURNAMES",
    "BankCardRecognizer",
    "ChineseAddressRecognizer",
    "ChineseNameRecognizer",
    "CnIdCardRecognizer",
    "CnMobileRecognizer",
    "CnPassportRecognizer",
    "PinyinLexicons",
    "is_plausible_cn_id",
    "pinyin_lexicons",
    "pinyin_names",
    "warm_up_jieba",
]
