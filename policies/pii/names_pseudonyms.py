"""Name parts next to the gateway's own person pseudonyms.

A ``[PERSON_n]`` token stands for text the gateway already took for a person's name, so a name-like
word right before or after it is very likely the rest of that name: "Maria [PERSON_1] Gonzalez"
(the middle of a name pseudonymized in an earlier turn), "[PERSON_2] Tran". Words that are not
name parts stay: "[PERSON_1] Hospital", "Tuesday [PERSON_2]", "[PERSON_1] will call".
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import regex

from policies.pii.names_context import (
    EPONYM_TAILS,
    FUNCTION_WORDS,
    PLACE_WORDS,
    PRODUCT_TAILS,
    SENTENCE_START_RE,
)
from policies.pii.names_lexicons import FIRST_COMMON, LAST_COMMON, OBFUSCATED, STRONG, UNKNOWN, lexicon_key
from policies.pii.names_tokens import MAX_PARTS, SCORE_CONTEXT, Token

# The pseudonym and the irreversible replacement the gateway issues for a person; the same shape as
# ``policies.pii.pseudonymize.token_pattern(["PERSON"])`` (that module imports the detector, so this
# one cannot import it; a test keeps the two in step).
PERSON_TOKEN_RE = regex.compile(r"\[(?:PERSON_[1-9][0-9]{0,3}|REDACTED_PERSON)\]")
# Between a token and a name part, and between two parts: blanks on one line.
_GAP_RE = regex.compile(r"[ \t]{1,3}")
# Common words the lexicons list as names too ("Tuesday Weld", "Monday"), that next to a name are a
# date: "on Tuesday [PERSON_2]". Months that are also common first names (April, May, June) count.
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march july "
    "september october november december".split()
)


def add_pseudonym_neighbours(
    text: str, tokens: list[Token], names: dict[int, tuple[int, float]], refused: set[int]
) -> None:
    """Add to ``names`` (first token index -> (end index, score)) the name parts adjacent to a
    person pseudonym in ``text``; words in ``refused`` (a firm, a place, an eponym) stay out."""
    if "[" not in text:
        return
    starts = [t.start for t in tokens]
    ends = [t.end for t in tokens]
    for match in PERSON_TOKEN_RE.finditer(text):
        last_before = bisect_right(ends, match.start()) - 1
        run_start, boundary = last_before + 1, match.start()
        while run_start > 0 and last_before - run_start + 1 < MAX_PARTS - 1:
            index = run_start - 1
            token = tokens[index]
            if index in refused or token.possessive or not _GAP_RE.fullmatch(text, token.end, boundary):
                break
            if not _is_part(text, token, before_token=True):
                break
            run_start, boundary = index, token.start
        if run_start <= last_before:
            _merge(names, run_start, last_before + 1, SCORE_CONTEXT)
        first_after = bisect_left(starts, match.end())
        run_end, boundary = first_after, match.end()
        while run_end < len(tokens) and run_end - first_after < MAX_PARTS - 1:
            token = tokens[run_end]
            if run_end in refused or not _GAP_RE.fullmatch(text, boundary, token.start):
                break
            if not _is_part(text, token, before_token=False):
                break
            run_end, boundary = run_end + 1, token.end
            if token.possessive:
                break  # "[PERSON_1] Gonzalez's account"
        if run_end > first_after:
            _merge(names, first_after, run_end, SCORE_CONTEXT)


def _is_part(text: str, token: Token, before_token: bool) -> bool:
    """Whether ``token`` next to a person pseudonym is a part of that person's name."""
    if token.shape not in ("title", "upper", "lower", "any") or lexicon_key(token.text) in FUNCTION_WORDS:
        return False
    flags = token.flags
    if flags & (STRONG | OBFUSCATED):
        return True  # a listed name that is no common word, in any casing: "maria", "G0nzalez"
    if token.shape == "lower":
        return False  # "[PERSON_1] will call", "unknownword": lower case needs a listed name
    if flags & UNKNOWN:
        # "[PERSON_1] Featherstonehaugh"; not "MRN" or "DOB" (short upper-case codes).
        return token.shape == "title" or len(token.text) >= 4
    key = lexicon_key(token.text)
    if key in _CALENDAR or key in PLACE_WORDS or key in EPONYM_TAILS or key in PRODUCT_TAILS:
        return False  # "[PERSON_1] Street", "[PERSON_1] Bank", "[PERSON_1] syndrome"
    if flags & (FIRST_COMMON | LAST_COMMON):
        # "[PERSON_1] Brown", "Rose [PERSON_2]"; a capitalized common word opening a sentence is
        # the word: "Will [PERSON_1] come?", "Grant [PERSON_1] access".
        return not (before_token and SENTENCE_START_RE.search(text, 0, token.start))
    return False  # an English word or a clinical term: "Tuesday", "Hospital"


def _merge(names: dict[int, tuple[int, float]], start: int, end: int, score: float) -> None:
    """Record tokens[start:end] as a name, joined with the names it overlaps."""
    for index, (stop, other) in list(names.items()):
        if index < end and start < stop:
            del names[index]
            start, end, score = min(start, index), max(end, stop), max(score, other)
    names[start] = (end, score)
