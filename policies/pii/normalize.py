"""Text normalization against evasion, with a map back to the original offsets.

Detection runs on the normalized text; redaction must replace the exact span of the
original text, so every normalized character remembers which original character it
came from.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import regex

# Zero-width characters, soft hyphen, word joiners and bidi controls: invisible, and
# used to split a number so that a pattern no longer matches it.
INVISIBLE = frozenset(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
        *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
        *range(0x2060, 0x2070),  # word joiner, invisible operators, LRI/RLI/FSI/PDI, deprecated
    ]
)

# Digit groups split by spaces, dashes (hyphens, en and em dashes, minus), dots, or slashes:
# "138 1234 5678", "6222-0212-...", "1.3.8...", "5 3 6 2 2 1 2 3 4", "536–22–1234", "415/555/0137".
# A slash with spaces around it ("536221234 / 536221234") separates two numbers.
_SEP_CHARS = " \t.\\-\u2010-\u2015\u2212"
_SEP = "(?:[" + _SEP_CHARS + "]{1,3}|/{1,2})"
# A line break after groups of four digits: a card number wrapped by a mail client or typed
# over two lines. Other digit groups on separate lines (a column of lab values) stay apart.
_BREAK = "[" + _SEP_CHARS + "]{0,2}\r?\n[ \t]{0,3}"
# A run starts at its first digit and takes its digits possessively: searching a long unseparated
# digit string from every one of its digits, backtracking each time, took seconds (20,000 digits: 14 s).
_DIGIT_RUN_RE = re.compile(
    r"(?<!\d)\d++(?:(?:" + _SEP + "|" + _BREAK + r")\d++)+(?:" + _SEP + r"?[Xx](?![A-Za-z]))?"
)
_SEP_RE = re.compile(_SEP)
# Shapes that are already recognized with their separators and that joining would destroy.
_KEEP_SHAPES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![.\dXx])"),  # IPv4
    re.compile(r"\d{3}([- .])\d{2}\1\d{4}"),  # US SSN
    re.compile(r"\d{4}([-./])\d{1,2}\1\d{1,2}"),  # ISO date, 2024/03/05 too
    re.compile(r"\d{1,2}([-./])\d{1,2}\1\d{2,4}"),  # day/month first date, 03/05/2024 too
)
# Chinese numerals written digit by digit ("一三八一二三四五六七八", 幺 for 1 as said on the phone,
# the financial forms 壹贰叁...): read as digits only in a run of seven or more, so that 一次, 三个月,
# 二甲双胍 and 二〇二四年 are left alone.
_CN_DIGITS = dict(zip("〇零一幺二三四五六七八九", "001123456789", strict=True)) | dict(
    zip("壹贰叁肆伍陆柒捌玖", "123456789", strict=True)
)
_CN_DIGIT = "[" + "".join(_CN_DIGITS) + r"\d]"
_CN_NUMERAL_RUN_RE = regex.compile(_CN_DIGIT + "(?:[" + _SEP_CHARS + "]{0,2}" + _CN_DIGIT + "){6,}")
_CN_NUMERAL_RE = regex.compile("[" + "".join(_CN_DIGITS) + "]")
_DECIMAL = re.compile(r"\d+\.\d+(?![.\d])")
_KEEP_SHAPES = (*_KEEP_SHAPES, _DECIMAL)
_MIN_JOINED_DIGITS = 7


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalized text plus, for each of its characters, the original character index."""

    original: str
    text: str
    # None when text == original (the common, cheap case).
    origin: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of the normalized text to the original text."""
        if self.origin is None:
            return start, end
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


def _needs_char_pass(text: str) -> bool:
    if text.isascii():
        return False
    return True


def normalize(text: str) -> NormalizedText:
    """NFKC per character, digits of every script as ASCII, runs of Chinese numerals as digits,
    invisible and bidi controls removed, split digit groups joined."""
    if not _needs_char_pass(text) and not _DIGIT_RUN_RE.search(text):
        return NormalizedText(text, text, None)
    chars: list[str] = []
    origin: list[int] = []
    if text.isascii():
        chars = list(text)
        origin = list(range(len(text)))
    else:
        for index, ch in enumerate(text):
            code = ord(ch)
            if code in INVISIBLE:
                continue
            if code < 0x80:
                chars.append(ch)
                origin.append(index)
                continue
            folded = unicodedata.normalize("NFKC", ch)
            for out in folded:
                if ord(out) in INVISIBLE:
                    continue
                chars.append(_ascii_digit(out) if out.isdigit() or ord(out) > 0xFFFF else out)
                origin.append(index)
    stage = "".join(chars)
    if not text.isascii() and _CN_NUMERAL_RE.search(stage):
        stage = _CN_NUMERAL_RUN_RE.sub(_numerals_as_digits, stage)  # one character for one: origin holds
    if not _DIGIT_RUN_RE.search(stage):
        if stage == text:
            return NormalizedText(text, text, None)
        return NormalizedText(text, stage, tuple(origin))
    out_chars: list[str] = []
    out_origin: list[int] = []
    last = 0
    for match in _DIGIT_RUN_RE.finditer(stage):
        after_plus = stage[match.start() - 1 : match.start()] == "+"
        for start, end, join_digits in _joinable_pieces(match.group(0), after_plus):
            start += match.start()
            end += match.start()
            out_chars.extend(stage[last:start])
            out_origin.extend(origin[last:start])
            if not join_digits:
                # Kept apart: one space, whatever the separator, so no recognizer reads across it.
                out_chars.append(" ")
                out_origin.append(origin[start])
            for index in range(start, end if join_digits else start):
                ch = stage[index]
                if ch.isdigit() or ch in "Xx":
                    out_chars.append(ch)
                    out_origin.append(origin[index])
            last = end
    out_chars.extend(stage[last:])
    out_origin.extend(origin[last:])
    joined = "".join(out_chars)
    if joined == text:
        return NormalizedText(text, text, None)
    return NormalizedText(text, joined, tuple(out_origin))


# The recognizers match with the ``regex`` package, whose Unicode tables can be newer than Python's:
# a digit it knows and ``int()`` does not (Kawi, Unicode 15, on Python 3.11) made checksums raise.
_REGEX_DIGIT = regex.compile(r"\d")


@functools.lru_cache(maxsize=512)
def _ascii_digit(ch: str) -> str:
    """A decimal digit of any script as its ASCII digit ("٤", "४", "𑽔" -> "4"); other characters
    unchanged. Unicode keeps each script's digits 0-9 in one run of ten code points."""
    value = unicodedata.decimal(ch, None)
    if value is None:
        if not _REGEX_DIGIT.fullmatch(ch):
            return ch
        code = first = ord(ch)
        while first > code - 60 and _REGEX_DIGIT.fullmatch(chr(first - 1)):
            first -= 1
        value = (code - first) % 10
    return chr(0x30 + value)


_CN_DIGIT_TABLE = str.maketrans(_CN_DIGITS)


def _numerals_as_digits(run: regex.Match[str]) -> str:
    value: str = run.group(0)
    return value.translate(_CN_DIGIT_TABLE) if _CN_NUMERAL_RE.search(value) else value


_GROUP_RE = re.compile(r"\d+|[Xx]")


def _joinable_pieces(run: str, after_plus: bool = False) -> list[tuple[int, int, bool]]:
    """Spans of ``run`` whose separators are to be removed (True), or replaced by one space (False).

    Shapes that recognizers match with their separators (dates, SSNs, IPv4, decimals)
    are cut out first; what is left between them is joined when long enough to be an
    identifier, except that a phone number written with its own grouping is joined apart
    from short numbers next to it, a space between them. ``after_plus``: the run follows a
    "+" (a country code).
    """
    groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(run)]
    pieces: list[tuple[int, int, bool]] = []
    current: list[tuple[int, int]] = []
    fours = 0  # how many groups of ``current`` are four digits

    def join(part: list[tuple[int, int]]) -> None:
        if len(part) > 1:
            digits = sum((run[s:e].isdigit() and e - s) or 1 for s, e in part)
            if digits >= _MIN_JOINED_DIGITS:
                pieces.append((part[0][0], part[-1][1], True))

    def flush() -> None:
        nonlocal fours
        phone = None
        if len(current) > 1 and sum(e - s for s, e in current) > _MIN_PHONE_WITH_SHORT_GROUP:
            phone = _phone_among_short_groups(run, current, after_plus and current[:1] == groups[:1])
        if phone is None:
            join(current)
        else:
            first, last = phone
            join(current[:first])
            if first > 0:
                pieces.append((current[first - 1][1], current[first][0], False))
            join(current[first:last])
            if last < len(current):
                pieces.append((current[last - 1][1], current[last][0], False))
            join(current[last:])
        current.clear()
        fours = 0

    index = 0
    while index < len(groups):
        start = groups[index][0]
        protected_end = _protected_shape_end(run, start)
        if protected_end is not None:
            flush()
            while index < len(groups) and groups[index][0] < protected_end:
                index += 1
            continue
        group_start, group_end = groups[index]
        if current and "\n" in run[current[-1][1] : start]:
            # A line break inside a card number: groups of four, then three or four more, at most
            # 19 digits (4-4-4-4, 4-6-5 written 4-4-4-3). A column of numbers is not joined.
            size = group_end - group_start
            if not (fours == len(current) and 3 <= size <= 4 and 4 * fours + size <= 19):
                flush()
        current.append(groups[index])
        fours += group_end - group_start == 4 and run[group_start:group_end].isdigit()
        index += 1
    flush()
    return pieces


# A phone number written with its own grouping, next to a short number in the same run of digit
# groups: "room 12 212-736-5000", "bed 4 020 7946 0958", "212-736-5000 12 times". Joined with the
# short number it becomes a longer number that no phone check accepts, so it is joined on its own.
# A phone here is a North American number (area code and exchange starting with 2-9: one group of
# ten digits, or 3-3-4) or a national number with a trunk 0 of 10 or 11 digits in one to three
# groups of three digits or more ("020 7946 0958", "07700 900123"); its separators are one and the
# same throughout. No group of a card, an IBAN or an ID is left apart: a phone is split off only
# from groups of at most three digits. A "1" right before a phone is the North American trunk
# prefix, and a group right after "+" a country code: those stay part of the number.
_SHORT_GROUP = 3
_MIN_PHONE_WITH_SHORT_GROUP = 10  # a phone of ten digits or more and one digit more at least
_NANP_PHONE_RE = re.compile(r"[2-9]\d\d[2-9]\d{6}")
_TRUNK_ZERO_PHONE_RE = re.compile(r"0\d{9,10}")
_MAX_PHONE_GROUPS = 3


def _phone_among_short_groups(
    run: str, groups: list[tuple[int, int]], country_code_first: bool
) -> tuple[int, int] | None:
    """``(first, last)`` when ``groups[first:last]`` is a phone written with its own grouping and
    every other group of ``groups`` (at least one) is a short number; else None."""
    count = len(groups)
    if count < 2:
        return None
    # An extension's "x" is never left apart from its number: it counts as a long group.
    long_groups = [i for i, (s, e) in enumerate(groups) if e - s > _SHORT_GROUP or not run[s:e].isdigit()]
    # Every group outside the phone is short: the phone covers the first and the last long group.
    lowest = max(0, long_groups[-1] - _MAX_PHONE_GROUPS + 1) if long_groups else 0
    highest = long_groups[0] if long_groups else count - 1
    for first in range(lowest, highest + 1):
        if first == 1 and country_code_first:
            continue
        for last in range(first + 1, min(count, first + _MAX_PHONE_GROUPS) + 1):
            if (first, last) == (0, count) or (long_groups and last <= long_groups[-1]):
                continue
            kind = _grouped_phone_kind(run, groups[first:last])
            if kind is None or (kind == "nanp" and first > 0 and run[slice(*groups[first - 1])] == "1"):
                continue
            return first, last
    return None


def _grouped_phone_kind(run: str, groups: list[tuple[int, int]]) -> str | None:
    """The kind of phone ("nanp" or "trunk") ``groups`` of ``run`` are, written with its own
    grouping; None when they are none."""
    digits = "".join(run[s:e] for s, e in groups)
    if not digits.isdigit() or not 10 <= len(digits) <= 11:
        return None
    separators = [run[groups[i][1] : groups[i + 1][0]] for i in range(len(groups) - 1)]
    sizes = tuple(e - s for s, e in groups)
    if _NANP_PHONE_RE.fullmatch(digits):
        # "212 736-5000" is written as often as "212-736-5000".
        same = len(set(separators)) == 1 or separators == [" ", "-"]
        return "nanp" if len(sizes) == 1 or (sizes == (3, 3, 4) and same) else None
    if len(set(separators)) <= 1 and _TRUNK_ZERO_PHONE_RE.fullmatch(digits) and min(sizes) >= 3:
        return "trunk"
    return None


def _protected_shape_end(run: str, start: int) -> int | None:
    if start > 0 and run[start - 1] == ".":
        return None  # inside a dotted digit chain: 510.107.195.110.223.209 is no IP address
    for shape in _KEEP_SHAPES:
        found = shape.match(run, start)
        if (
            found
            and (found.end() == len(run) or not run[found.end()].isdigit())
            and not (
                run[found.end() : found.end() + 1] == "." and run[found.end() + 1 : found.end() + 2].isdigit()
            )
        ):
            return found.end()
    return None


def canonical_value(text: str) -> str:
    """The identity of a detected value: same person/number -> same pseudonym.

    Case, width, invisible characters and digit-group separators do not change identity.
    """
    if text.isascii() and not _SEP_RE.search(text.strip()):
        return text.strip().casefold()
    norm = normalize(text).text
    norm = _SEP_RE.sub(lambda m: "" if _between_digits(m, norm) else " ", norm)
    return " ".join(norm.split()).casefold()


def _between_digits(match: re.Match[str], text: str) -> bool:
    start, end = match.start(), match.end()
    return 0 < start and end < len(text) and text[start - 1].isdigit() and text[end].isdigit()
