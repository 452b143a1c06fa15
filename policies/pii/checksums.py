"""Check-digit algorithms that separate real identifiers from random digit strings."""

from __future__ import annotations

import datetime as _dt

_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"


def cn_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a PRC resident identity number."""
    total = sum(int(d) * w for d, w in zip(first17, _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK[total % 11]


def is_valid_cn_id(value: str) -> bool:
    """18 characters, a plausible birth date and a correct MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if value[0] == "0":
        return False
    try:
        birth = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not (1900 <= birth.year and birth <= _dt.date.today()):
        return False
    return cn_id_check_char(value[:17]) == value[17].upper()


def is_luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
