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

from policies.pii.after_word import DATE_LIKE_RE, AfterWord, letters_and_digits
from policies.pii.recognizers_zh_ids import CN_PASSPORT_SHAPE

_ACCOUNT_WORDS = (
    *("account", "accounts", "acct", "acct.", "acc no", "acc. no", "acc #", "a/c", "a/c no"),
    *("account no", "account number", "account #", "acct no", "acct #", "acct number"),
    *("routing", "routing no", "routing number", "routing #", "aba", "aba no", "rtn", "aba routing"),
    *("transit number", "transit no", "institution number", "sort code", "sort-code", "bsb"),
    *("账号", "帐号", "账户", "帐户", "银行账号", "银行帐号", "开户账号", "收款账号", "账号是"),
)
_PASSPORT_WORDS = (
    *("passport", "passports", "passport no", "passport number", "passport #", "pp no", "pp#"),
    *("travel document", "travel document no", "护照", "护照号", "护照号码"),
)
# Six to thirty digits, grouped by single spaces or dashes ("12-34-56", "0211 0002 1"), with the
# capital letters of a domestic account number's bank or check code glued on (British
# "NWBK60161331926819", Italian "X0542811101000000123456", Brazilian "...91500ES"), and not
# running on into more digits, letters or a decimal. Thirty: the longest BBANs (France 23, Poland
# 24, Malta 27) are digits too.
_ACCOUNT_SHAPE_RE = regex.compile(r"(?:[A-Z]{1,4})?\d(?:[ \-]?\d){5,29}(?:[A-Z]{1,2})?(?![\dA-Za-z]|[.,/]\d)")
# Letters and digits of a passport number: "X12345678", "C01X00T47", "J8369854", "123456789".
_PASSPORT_SHAPE_RE = regex.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[ \-](?=\d)){5,11}(?![A-Za-z0-9@_]|[.\-/]\d)")
# A PRC passport number: CnPassportRecognizer reports it (CN_PASSPORT).
_CN_PASSPORT_RE = regex.compile(CN_PASSPORT_SHAPE)


def _looks_like_account(value: str) -> bool:
    """Digits not all the same, in groups of two or more ("12-34-56", not "1 2 3 4 5 6"), not a
    compact or separated date."""
    digits = [ch for ch in value if ch.isdigit()]
    groups = regex.split(r"[ \-]", value)
    if len(set(digits)) == 1 or any(len(group) < 2 for group in groups):
        return False
    return not DATE_LIKE_RE.fullmatch(value)


def _looks_like_passport(value: str) -> bool:
    if not letters_and_digits(value, chars=(6, 12), min_digits=5, max_letters=4):
        return False
    return not _CN_PASSPORT_RE.fullmatch("".join(ch for ch in value if ch.isalnum()).upper())


#: Bank account, routing and transit numbers and sort codes right after their word (account,
#: acct, a/c, routing number, ABA, sort code, BSB, 账号 ...): six to thirty digits, alone or in
#: groups of at least two, with a bank code's capital letters glued on.
BANK_ACCOUNT = AfterWord("BANK_ACCOUNT", _ACCOUNT_WORDS, _ACCOUNT_SHAPE_RE, _looks_like_account)
#: Passport numbers of any country right after a passport word (passport no., travel document,
#: 护照 ...): six to twelve letters and digits, at least five digits and at most four letters, not
#: a date. PRC passport numbers are CnPassportRecognizer's.
PASSPORT = AfterWord("PASSPORT", _PASSPORT_WORDS, _PASSPORT_SHAPE_RE, _looks_like_passport)
ACCOUNT_KINDS = (BANK_ACCOUNT, PASSPORT)
