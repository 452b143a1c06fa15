"""How much of a channel's buffered tail the stream filter must hold back.

Rules and tokens: the partial-match scan (:func:`scan_matches`) holds from the earliest place where a
match could still grow. Structured identifiers: only the trailing word of identifier characters
(and digit groups joined to it) is held, and the detector runs only when the text holds a shape
some pattern recognizer needs. Names: a clause that may hold a name is held until it ends."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import regex

from policies.pii.address_patterns_en import (
    GLUED_SUFFIXES_SURE,
    GLUED_SUFFIXES_UNSURE,
    PREFIX_TYPES_SURE,
    PREFIX_TYPES_UNSURE,
)
from policies.pii.date_shapes import MONTHS
from policies.pii.normalize import INVISIBLE
from policies.pii.word_trie import alternation


class Span(Protocol):
    """A detected value: entity type and half-open offsets in the text given to the detector."""

    @property
    def entity_type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


def scan_matches(
    pattern: Any, pending: Any, window: int, text: str, base: int, final: bool, take: Callable[[Any], None]
) -> int:
    """Pass each match of ``pattern`` that more text cannot change to ``take``; return where the
    held text starts (``len(text)`` when nothing needs holding).

    ``pending`` is ``pattern`` followed by a character that never occurs, searched with partial
    matching: its leftmost partial match is the earliest place where a match could still reach
    past the end of the text (a prefix of a match, or a match that could grow or be changed by
    what follows). A match starting before that place ends within the text and is final.
    """
    n = len(text)
    if final:
        for m in pattern.finditer(text, base):
            take(m)
        return n
    # A possible match longer than the window is longer than its rule declared: not held for.
    floor = n - window

    def held_from(pos: int) -> int:
        p = pending.search(text, pos, partial=True)
        return n if p is None else max(p.start(), floor, pos)

    hold = held_from(base)
    for m in pattern.finditer(text, base):
        if m.start() >= hold:
            break
        take(m)
        if m.end() > hold:
            # The possible match began inside this final one: look again after it.
            hold = held_from(m.end())
    return hold


# Whether text could hold (the rest of) a structured identifier, derived from what the pattern
# recognizers match (policies/pii; the detector reads digits of every script as ASCII, joins digit
# groups split by up to three separators or a slash, and reads runs of Chinese numerals as digits):
_CN_NUMERALS = "〇零一幺二三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# What may stand between two digits that normalization joins: up to three separators (spaces of
# any width, dots, dashes, minus signs) or a slash or two, plus invisible characters it removes.
_INVISIBLE = "".join(re.escape(chr(code)) for code in sorted(INVISIBLE))
_JOIN = rf"(?:[\s.\\\-\u2010-\u2015\u2212{_INVISIBLE}]{{0,6}}|/{{1,2}})"
# Street types the type-first and glued forms of a street address are recognized by (Calle Mayor
# 12, Telse-Kranz-Allee 46): a short house number there makes the text worth scanning too.
_STREET_PREFIXES = alternation(t for t in (*PREFIX_TYPES_SURE, *PREFIX_TYPES_UNSURE) if len(t) >= 4)
_STREET_SUFFIXES = alternation({*GLUED_SUFFIXES_SURE, *GLUED_SUFFIXES_UNSURE})
_IDENTIFIER_NEEDS = re.compile(
    "|".join(
        (
            r"[@\uff20]",  # e-mail addresses
            # seven digits joined: phones, cards, SSNs, ID, passport, account and record numbers,
            # IBANs; four in a row: the year of a date of birth ("4 March 1975"), a plate's group
            rf"\d(?:{_JOIN}\d){{6}}|\d{{4}}",
            r"\d{1,3}(?:\.\d{1,3}){3}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}",  # IPv4 addresses, numeric dates
            # letters (any script) glued to digits in a word of four or more: US plates (7ABC123),
            # passports, house numbers in Chinese addresses (建国路88号)
            r"(?<![^\W_])(?=[^\W_]{4})[^\W_]*?(?:[^\W\d_]\d|\d[^\W\d_])",
            # a plate in two groups, letters then digits or digits then letters: KXR 482, 123-ABC
            r"(?<![A-Za-z0-9])[A-Z]{1,4}[ \-\u00b7\u2022]\d|\d[ \-\u00b7\u2022][A-Z]{1,5}(?![A-Za-z0-9])",
            rf"[{_CN_PROVINCE_CHARS}][A-Za-z\uff21-\uff3a\uff41-\uff5a]",  # mainland plates: 沪A7K3M2
            r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]",  # IPv6 addresses, MAC addresses
            r"\d[A-Za-z]?[ \t]+[A-Z][a-z]+[ \t]+[A-Z]",  # a street address: 12 Oak Lane
            # MAC addresses with dashes: three pairs, the first beginning with a digit (a pair with a
            # letter first is costlier to look for at every letter of prose, and rarely alone)
            r"\d[0-9A-Fa-f]-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-",
            # phone numbers in Chinese numerals
            rf"[{_CN_NUMERALS}](?:{_JOIN}[{_CN_NUMERALS}\d]){{6}}",
        )
    )
)
# Site patterns that match none of these, and lone numbers of one to three digits ("300 mg",
# "day 3"), which no recognizer reports, are therefore not looked for in streamed output.
# Every shape above holds one of these characters: a cheap first test for the common case, prose.
_IDENTIFIER_CHAR = re.compile(f"[\\d@\\uff20{_CN_NUMERALS}{_CN_PROVINCE_CHARS}]")

# What an identifier in progress is made of: ASCII and full-width Latin letters, digits of any
# script, Chinese numerals, the characters of e-mails and IDs, the colon of IPv6 and MAC
# addresses, a plate's middle dot, and the invisible characters normalization removes.
_IDENTIFIER_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-@()#/:"
    "\u00b7\u2022\u30fb\uff20"
    + "".join(chr(code) for code in INVISIBLE)
    + "".join(chr(c) for c in range(0xFF21, 0xFF3B))
    + "".join(chr(c) for c in range(0xFF41, 0xFF5B))
    + _CN_NUMERALS
)
_LATIN_LETTERS = frozenset(
    ch for ch in _IDENTIFIER_CHARS if ch.isalpha() and ch not in _CN_NUMERALS and ord(ch) not in INVISIBLE
)
# The province (or municipality) character that starts a mainland plate: 沪A7K3M2.
_CN_PLATE_PROVINCES = frozenset(_CN_PROVINCE_CHARS)
# Digit groups may be separated by up to three of these ("415 555 0132", "4111-1111 1111",
# "536–22–1234", "536 - 22 - 1234"), as normalization joins them.
_GROUP_SEPARATORS = frozenset(" \t-.\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_MAX_SEPARATORS = 3


def worth_scanning(text: str, start: int, end: int) -> bool:
    """Could ``text[start:end]`` hold (the rest of) a structured identifier at all?"""
    if _IDENTIFIER_CHAR.search(text, start, end) is None:
        # An e-mail address written to slip past a filter holds no "@" and no digit.
        return (
            _may_be_obfuscated(text[start:end].lower())
            and _OBFUSCATED_AT_RE.search(text, start, end) is not None
        )
    return _IDENTIFIER_NEEDS.search(text, start, end) is not None or _street_number(text, start, end)


# What an obfuscated e-mail address holds ("jane [dot] parker [at] mail [dot] com", "jane(at)corp",
# "john . doe @ example . com" has its "@"): a bracketed "at", "dot" or "@", or the word "dot".
_OBFUSCATED_AT_RE = re.compile(
    r"[\[({<]\s*(?:at|dot|@)\s*[\])}>]|(?<![A-Za-z])dot(?![A-Za-z])", re.IGNORECASE
)
_OBFUSCATION_MARKS = ("dot", "at]", "at)", "at}", "at>", "@")


def _may_be_obfuscated(lowered: str) -> bool:
    """A cheap first test for ``_OBFUSCATED_AT_RE`` on lower-cased text (most prose has none)."""
    return any(mark in lowered for mark in _OBFUSCATION_MARKS)


# One in progress at the end of the text: words joined by bracketed or spaced "at", "dot", "@" or
# ".", the last maybe begun, or a word before a bracket that may still become "[at]" or "[dot]".
# Held whole, so its first part does not go out before the rest.
_EMAIL_WORD = r"(?<![\w.+\-])[\w.+\-]+"
_EMAIL_JOIN = r"(?:\s*[\[({<]\s*(?:at|dot|@|\.)\s*[\])}>]\s*|\s+(?:at|dot|@|\.)\s+|\s+[@.]|[@.]\s+)"
_EMAIL_BRACKET_BEGUN = r"[ \t]*[\[({<][ \t]*(?:at|dot|a|d|do|@|\.)?[ \t]*"
_OBFUSCATED_EMAIL_IN_PROGRESS_RE = regex.compile(
    rf"{_EMAIL_WORD}(?:(?:{_EMAIL_JOIN}[\w\-]*)+(?:{_EMAIL_BRACKET_BEGUN}|[ \t]*)|{_EMAIL_BRACKET_BEGUN})\Z",
    regex.IGNORECASE | regex.REVERSE,
)
_BRACKET_BEGUN_RE = regex.compile(rf"{_EMAIL_BRACKET_BEGUN}\Z", regex.IGNORECASE | regex.REVERSE)


# A street named before its house number (Calle Mayor 12, Telse-Kranz-Allee 46, Viale Gioachino,
# 96): a street type among the five words before a number.
_NUMBER_START_RE = re.compile(r"(?<![\d.,/\-])\d")
_STREET_PREFIX_WORDS = frozenset(t for t in (*PREFIX_TYPES_SURE, *PREFIX_TYPES_UNSURE) if len(t) >= 4)
_STREET_SUFFIX_WORDS = (*GLUED_SUFFIXES_SURE, *GLUED_SUFFIXES_UNSURE)


def _street_word(word: str) -> bool:
    """Whether ``word`` (lower case) is a street type written first or ends with a glued one."""
    return word in _STREET_PREFIX_WORDS or word.endswith(_STREET_SUFFIX_WORDS)


def _street_words(words: list[str]) -> bool:
    """Whether the last of ``words`` (lower case) ends with a glued street type or one of them is a
    street type written first."""
    return bool(words) and (
        words[-1].endswith(_STREET_SUFFIX_WORDS) or not _STREET_PREFIX_WORDS.isdisjoint(words)
    )


def _street_number(text: str, start: int, end: int) -> bool:
    """Whether a number in ``text[start:end]`` follows a street named before it."""
    return next(_street_numbers(text, start, end), None) is not None


def _street_numbers(text: str, start: int, end: int) -> Iterator[int]:
    """Where each number in ``text[start:end]`` that follows a street named before it starts."""
    words = text[max(0, start - 48) : end].lower().replace(",", " ").split()
    if not any(_street_word(word.strip(".")) for word in words):
        return  # no street type in view at all: the common case, one pass over the words
    for match in _NUMBER_START_RE.finditer(text, start, end):
        before = text[max(0, match.start() - 48) : match.start()].lower().replace(",", " ").split()[-5:]
        if _street_words([word.strip(".") for word in before]):
            yield match.start()


def unexplained(view: str, end: int, spans: Sequence[Span]) -> bool:
    """Whether ``view[:end]`` has an identifier shape outside every span found in ``view``: then a
    context word before it might change what is found."""
    for m in _IDENTIFIER_NEEDS.finditer(view, 0, end):
        if not any(span.start < m.end() and m.start() < span.end for span in spans):
            return True
    if _OBFUSCATED_AT_RE.search(view, 0, end) and not spans:
        return True  # "[at] corp [dot] io": the address's first word may be in the released text
    # A street named before its number, its words maybe only in the released text before
    return any(
        not any(span.start <= number < span.end for span in spans) for number in _street_numbers(view, 0, end)
    )


def _digitish(ch: str) -> bool:
    return ch.isdigit() or ch in _CN_NUMERALS


def identifier_hold(text: str, base: int, n: int, window: int) -> int:
    """Where text that may still grow into a detectable identifier starts.

    The trailing word (letters, digits and the characters of e-mails and IDs, with the province
    character before a plate) may still grow, and so may groups before it that separators join to
    it: digit groups ("415 555 " + "0132"), a phone number before its extension ("555-0132 " +
    "ext. 675"), a plate's first group ("KXR " + "4821", "278 " + "MEB"), a mainland plate's
    province and letter ("粤B " + "D12345"); a written date whose year is still to come ("July 4, "
    + "1981"); a street address in progress ("17066 Heather " + "Grove", "Calle Mayor " + "12"); a
    Chinese address from its place name ("四川省成都市武" + "侯区"). Everything before that run is
    released at once, and never more than ``window`` characters are held.
    """
    floor = max(base, n - window)
    position = _word_start(text, n, floor)
    while True:
        gap = position
        while gap > floor and position - gap < _MAX_SEPARATORS and text[gap - 1] in _GROUP_SEPARATORS:
            gap -= 1
        if gap == position or gap <= floor:
            break
        if not (
            position == n
            or _digitish(text[position])
            or text[position] == "("
            or _capitals(text, position, n)
            or _extension_word(text, position, n)
        ):
            break
        before = _word_start(text, gap, floor)
        if not (
            _digitish(text[gap - 1])
            or text[gap - 1] == ")"
            or _plate_group(text[before:gap], position - gap)
            or text[before:gap].lower() in _EXTENSION_WORDS
        ):
            break
        position = before
    head = position - 1 if position > floor and text[position - 1] in " -" else position
    if head - 2 >= floor and text[head - 1] in _LATIN_LETTERS and text[head - 2] in _CN_PLATE_PROVINCES:
        position = head - 2
    tail = text[max(floor, n - 64) : n].lower()
    if any(month in tail for month in _MONTH_STEMS):
        date = _DATE_IN_PROGRESS_RE.search(text, floor, n)
        if date is not None and date.start() < position:
            position = date.start()  # "DOB July 4, " + "1981": the day and month go with the year
    address = _ADDRESS_IN_PROGRESS_RE.search(text, floor, n)
    if address is not None and address.start() < position:
        position = address.start()  # "17066 Heather " + "Grove Apt. 915": the number with its street
    if any(_street_word(word.strip(".,")) for word in tail.split()[-10:]):
        street = _STREET_FIRST_IN_PROGRESS_RE.search(text, floor, n)
        if street is not None and street.start() < position:
            position = street.start()  # "Calle Mayor " + "12": the street with its number
    if (
        _may_be_obfuscated(tail)
        or " . " in tail
        or (
            any(bracket in tail[-8:] for bracket in "[({<")
            and _BRACKET_BEGUN_RE.search(text, max(floor, n - 8), n)
        )
    ):
        email = _OBFUSCATED_EMAIL_IN_PROGRESS_RE.search(text, floor, n)
        if email is not None and email.start() < position:
            position = email.start()  # "jane [dot] parker " + "[at] mail [dot] com"
    if _ZH_ADDRESS_MARKER_RE.search(tail[-16:]) or _ZH_ADDRESS_CUE_RE.search(text, max(0, n - 12), n):
        position = min(position, _zh_address_start(text, max(floor, n - 48), n))
    return position


# A Chinese address in progress: a run of Chinese characters and digits at the end of the text with
# an address marker (province, city, district, road, number, building, room ...) among its last
# sixteen characters is held from eight characters before its first marker (the province's or
# city's name); right after an address word (地址, 住在, 寄到 ...) it is held before any marker.
# Chinese has no spaces to hold to: "四川省成都市武" went out before "侯区人民南路107号".
_ZH_ADDRESS_MARKER_RE = regex.compile(
    "省|自治区|市|区|县|旗|镇|乡|街道|大道|路|街|巷|弄|胡同|号|栋|幢|座|楼|单元|层|室|村|组|小区|花园|大厦|公寓"
)
_ZH_RUN_RE = regex.compile(r"[\p{Han}\d \-#]+\Z", regex.REVERSE)
_ZH_ADDRESS_CUE_RE = regex.compile(r"地址|住址|住在|家住|寄到|寄往|送到|送至|位于|搬到|现居|户籍|居住")


def _zh_address_start(text: str, floor: int, n: int) -> int:
    """Where a Chinese address that may still grow at the end of ``text`` starts; ``n`` if none."""
    run = _ZH_RUN_RE.search(text, floor, n)
    if run is None:
        return n
    start: int = run.start()
    marker = _ZH_ADDRESS_MARKER_RE.search(text, start, n)
    if marker is not None:
        return max(start, int(marker.start()) - 8)
    # No marker yet: after an address word ("地址：江" + "苏省"), the place's name is under way.
    cue = _ZH_ADDRESS_CUE_RE.search(text, max(0, start - 6), n)  # released words count too
    return n if cue is None else max(start, min(int(cue.end()), n))


_MONTH_STEMS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


# A street address that may still grow: a house number, then capitalized words, unit numbers and
# commas up to the end of the text ("17066 Heather ", "12 Oak Lane, Springfield, IL 62"). Held
# until a word in lower case follows, so the detector sees the number with its street.
_UNIT_FIRST = r"(?:Flat|Unit|Apt|Apartment|Suite|Level|Shop)\.?"
_ADDRESS_IN_PROGRESS_RE = regex.compile(
    rf"(?<![\w.,:/\-])(?:(?:{_UNIT_FIRST}[ \t]+)?\d{{1,6}}(?:/\d{{1,6}})?[A-Za-z]?"
    r"(?:(?:[ \t]+|,[ \t]*)(?:[\p{Lu}#][\p{L}'’.\-]*|\d{1,6}[A-Za-z]?)){0,8}"
    rf"|{_UNIT_FIRST})[ \t,]*\Z",
    regex.REVERSE,
)
# The same for a street named before its number: a street type first ("Calle Mayor ", "Rue de la
# "), or glued to the end of the name ("Telse-Kranz-Allee "), with the number maybe begun.
_STREET_FIRST_IN_PROGRESS_RE = regex.compile(
    rf"(?<![\p{{L}}\-])(?:(?=\p{{Lu}})(?i:{_STREET_PREFIXES})\.?(?:[ \t]+[\p{{L}}'’\-]+){{0,4}}"
    rf"|\p{{Lu}}[\p{{L}}\-]*(?i:{_STREET_SUFFIXES})\.?)"
    # the house number, maybe begun, and what may follow it: "83/53", "9-4", "96 Piano 1", "12, 28013"
    rf"(?:[ \t,]+\d{{1,5}}(?:[/\-]\d{{0,5}})?[A-Za-z]?"
    rf"(?:(?:[ \t]+|,[ \t]*)(?:\p{{Lu}}[\p{{L}}.]*|\d{{1,5}})){{0,4}})?[ \t,]*\Z",
    regex.REVERSE,
)


# A written date that its year may still complete, or whose year is the word in progress: a month
# name, maybe its day ("July ", "July 4, ", "Jul. 4th ", "July 4, 19"), or a day and a month
# ("4 July ", "4th of July, 1981 "), at the very end of the text: held until a word follows, so the
# detector sees the year with the day and month still unreleased.
_DATE_IN_PROGRESS_RE = regex.compile(
    rf"(?<![A-Za-z])(?:{MONTHS}[ \t]+(?:\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]*\d{{0,4}}[ \t]*)?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{MONTHS},?[ \t]*\d{{0,4}}[ \t]*)\Z",
    regex.IGNORECASE | regex.REVERSE,  # from the end: most texts fail at their last characters
)


# A phone number's extension word ("(415) 555-0132 ext. 675"), and what it may be while it grows.
_EXTENSION_WORDS = frozenset({"x", "ext", "ext.", "extn", "extn.", "extension"})
_EXTENSION_PREFIXES = frozenset("extension"[:i] for i in range(1, 10)) | {"ext.", "extn", "extn."}


def _extension_word(text: str, position: int, n: int) -> bool:
    """Whether the word at ``position`` is an extension word after a number, or, ending the text,
    may still become one: the number before it is held with the extension that may follow."""
    end = position
    while end < n and (text[end].isalpha() or text[end] == ".") and end - position <= 10:
        end += 1
    word = text[position:end].lower()
    return word in _EXTENSION_WORDS or (end == n and word in _EXTENSION_PREFIXES)


def _capitals(text: str, position: int, n: int) -> bool:
    """Whether one to five ASCII capitals start at ``position``, then a separator or the end: a
    plate's second group after its digits ("278 " + "MEB")."""
    end = position
    while end < n and end - position <= 5 and "A" <= text[end] <= "Z":
        end += 1
    return 1 <= end - position <= 5 and (end == n or text[end] in _GROUP_SEPARATORS)


def _plate_group(group: str, separators: int) -> bool:
    """The first group of a plate written in two ("KXR 4821"): one to four capitals and digits
    followed by a single separator."""
    return (
        separators == 1
        and 1 <= len(group) <= 4
        and all(ch.isascii() and (ch.isupper() or ch.isdigit()) for ch in group)
    )


def _in_word(ch: str) -> bool:
    """Whether ``ch`` belongs to the word in progress: an identifier character, a digit, or a letter
    of an alphabet (a street may still grow: "Röhrdanz" + "platz 83"); not a Chinese or Japanese
    character, which would make a whole clause one word."""
    return ch in _IDENTIFIER_CHARS or ch.isdigit() or (ch.isalpha() and ord(ch) < 0x2E80)


def _word_start(text: str, position: int, floor: int) -> int:
    end = position
    while position > floor and _in_word(text[position - 1]):
        position -= 1
    if (
        position > floor
        and text[position - 1] in _CN_PLATE_PROVINCES
        and (position == end == len(text) or (position < end and text[position] in _LATIN_LETTERS))
    ):
        position -= 1  # 沪 + A7K3M2: the plate starts at the province character
    return position


# Where a clause ends for the name detector: sentence punctuation followed by a space (not after a
# title or a single initial), or a line break, or CJK sentence punctuation and commas.
CLAUSE_END = re.compile(
    r"(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bMx)(?<!\bProf)(?<!\bSt)(?<!\b[A-Z])[.!?;](?=\s)"
    r"|\n|[\u3002\uff01\uff1f\uff1b\uff0c\u3001]"
)
# A clause needs NER only if it could hold a name: an upper-case letter of any script (full-width
# and accented ones included) or a Han ideograph (any block, the supplementary planes' too).
NAME_HINT = regex.compile(r"[\p{Lu}\p{Lt}\p{Han}]")
_SPACE = re.compile(r"\s")


def clause_hold(text: str, base: int, n: int, window: int) -> tuple[int, bool]:
    """Where the clause still open at the end of ``text`` starts, if it could hold a name, and
    whether that is a forced cut.

    A clause with no name hint yet is not held (text added later is held from where it starts).
    A clause longer than ``window`` is cut at the first whitespace past the middle of the window
    (or at the middle, in text without spaces): forced, and the detector then sees past the cut."""
    start = base
    for m in CLAUSE_END.finditer(text, base, n):
        start = m.end()
    if not NAME_HINT.search(text, start, n):
        return n, False
    if n - start <= window:
        return start, False
    middle = n - window // 2
    space = _SPACE.search(text, middle, n)
    return (space.end() if space else middle), True
