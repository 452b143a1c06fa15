"""Traditional Chinese read as simplified, character for character, so that offsets stay put.

The name and address rules (surname table, jieba's dictionary, given-name characters, province and
street words) are written in simplified characters; names and addresses from Taiwan, Hong Kong and
Macau (陳淑惠, 臺北市中山區) are written in traditional ones. The table maps each traditional
character to one simplified character (``data/zh/traditional_to_simplified.txt``, from OpenCC).
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def _table() -> dict[int, str]:
    text = resources.files("policies.pii").joinpath("data", "zh", "traditional_to_simplified.txt")
    table: dict[int, str] = {}
    for line in text.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            traditional, simplified = line.split("\t")
            table[ord(traditional)] = simplified
    return table


def to_simplified(text: str) -> str:
    """``text`` with every traditional character in its simplified form; same length, same offsets."""
    return text.translate(_table())
