"""Tokens of a text for the person-name rules, their casing, and the span rules the recognizer
and the list rules share (what continues a name, what makes a span a firm, a place or an eponym)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from policies.pii.names_context import (
    EPONYM_TAILS,
    FIELD_START_RE,
    FUNCTION_WORDS,
    JOIN_RE,
    LIST_SEPARATOR_RE,
    NAME_PARTICLES,
    ORGANISATIONS,
    PERSON_BEFORE_RE,
    PLACE_BEFORE_RE,
    PLACE_KIND_BEFORE_RE,
    PLACE_PREPOSITION_RE,
    PLACE_WORDS,
    PRODUCT_TAILS,
    SOFT_TAILS,
    SUBJECT_AFTER_RE,
    SURNAME_PLACE_WORDS,
    THE_BEFORE_RE,
    TITLE_BEFORE_RE,
    VOCATIVE_AFTER_RE,
    WORD_AFTER_RE,
)
from policies.pii.names_lexicons import (
    FIRST,
    FIRST_COMMON,
    LAST,
    LAST_COMMON,
    NAME,
    OBFUSCATED,
    STRONG,
    UNKNOWN,
    lexicon_key,
)
from policies.pii.recognizers_zh_pinyin import PINYIN_PHRASES

# A word: letters (any script) and digits, with inner apostrophes and hyphens ("O'Brien",
# "Garcia-Lopez", "Gonzalez's", "G0nzalez").
TOKEN_RE = regex.compile(
    r"[\p{L}\p{M}0-9]+(?:['’`][\p{L}\p{M}0-9]+)*(?:-[\p{L}\p{M}0-9]+(?:['’`][\p{L}\p{M}0-9]+)*)*"
)


@dataclass(slots=True)
class Token:
    start: int
    end: int  # without a possessive "'s"
    text: str
    flags: int
    shape: str  # "title", "upper", "lower", "initial", "other"
    possessive: bool


def shape_of(word: str) -> str:
    """ "title", "upper", "lower", "initial", "any" (a digit for the first letter, "3lvia": its case
    is lost) or "other" (mixed case that is not a capitalized word)."""
    if len(word) > 1 and word.isascii() and word.isalpha():
        # Most words: the same answers from the string's own tests, without a list of its letters.
        if word.islower():
            return "lower"
        if word.isupper():
            return "upper"
        return "title" if word[0].isupper() else "other"
    return shape_by_letters(word)


def shape_by_letters(word: str) -> str:
    """``shape_of`` decided letter by letter (any word; what its fast path must agree with)."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) == 1 and len(word) == 1:
        return "initial"
    if not letters:
        return "other"
    if all(ch.isupper() for ch in letters):
        return "upper"
    if word[0].isdigit():
        return "any" if all(ch.islower() for ch in letters) else "title"
    if all(ch.islower() for ch in letters):
        return "lower"
    if letters[0].isupper():
        return "title"
    return "other"


def shapes_of(tokens: Iterable[Token]) -> set[str]:
    """The casings of a name's words; a word whose case is lost takes the others' ("any" alone:
    "title")."""
    shapes = {t.shape for t in tokens if t.shape not in ("initial", "any")}
    return shapes or {"title"}


SCORE_STRONG = 0.85
SCORE_CONTEXT = 0.8
SCORE_WEAK = 0.6
MAX_PARTS = 4
NOT_A_PERSON = -1.0  # a firm, a place, an eponym: none of its words starts a name either


def not_a_person(
    text: str, tokens: list[Token], index: int, end: int, before: str, parts: list[Token]
) -> bool:
    """A place or an institution named after someone, an eponym, a product, a known firm."""
    if PLACE_BEFORE_RE.search(before):
        return True
    all_strong = all(t.flags & (STRONG | OBFUSCATED) for t in parts)
    if lexicon_key(parts[-1].text) in PLACE_WORDS and not parts[-1].flags & STRONG:
        if not _surname_after_first_name(parts):
            return True  # "Lincoln Square", "Harbor Point"; "Amy Ward" goes on
    if end < len(tokens):
        gap = text[tokens[end - 1].end : tokens[end].start].lower()
        tail = lexicon_key(tokens[end].text)
        if gap in (" ", "  ", "-"):
            if tail in EPONYM_TAILS or tail in PLACE_WORDS or tail in PRODUCT_TAILS:
                # "Maria Gonzalez test results" is a person, "Wells score" is not.
                return not (len(parts) > 1 and all_strong and tail in SOFT_TAILS)
        elif gap in ("'s ", "’s ", "`s ", "' "):
            if tail in EPONYM_TAILS:
                return True  # "Parkinson's disease", "Baker's cyst"
            if tail in PLACE_WORDS and len(parts) == 1:
                return True  # "Mary's Hospital"
    keys = [lexicon_key(t.text).replace("-", " ") for t in tokens[index:end]]
    if any(" ".join(keys[i : i + 2]) in PINYIN_PHRASES for i in range(len(keys) - 1)):
        return True  # "feng shui", "yin yang", "tai chi": Chinese words in English, not Feng or Yang
    return any(" ".join(keys[:n]) in ORGANISATIONS for n in range(2, len(keys) + 1))


def _surname_after_first_name(parts: Sequence[Token]) -> bool:
    """Whether ``parts`` end in a place word that is a frequent surname right after a listed first
    name, in one casing ("Amy Ward", "TYLER WARD"; not "Cardiology Ward", "Lincoln Square")."""
    if len(parts) < 2 or lexicon_key(parts[-1].text) not in SURNAME_PLACE_WORDS:
        return False
    first = parts[-2]
    return bool(first.flags & FIRST) and first.shape == parts[-1].shape


def continues(tokens: list[Token], index: int, end: int) -> bool:
    """Whether ``tokens[end]`` may continue the name ``tokens[index:end]``: a name-like word (or an
    initial) cased like the name's words. Outside Title Case a common word continues only a first
    name, as its second part ("john brown", "GRACE ROSE SMITH"), so that "ana will", "tran was
    seen" and "MORGAN STANLEY SUBJECT TO" stop at the name; a function word never does."""
    current = tokens[end]
    if current.shape == "initial":
        return True
    if not current.flags & (NAME | UNKNOWN):
        return False
    tail = lexicon_key(current.text)
    if (tail in EPONYM_TAILS or tail in PLACE_WORDS or tail in PRODUCT_TAILS) and not current.flags & STRONG:
        # "Child-Pugh score", "Meckel diverticulum", "Lincoln Square": judged by what precedes.
        if not _surname_after_first_name([*tokens[index:end], current]):
            return False
    if all(t.shape == "initial" for t in tokens[index:end]):
        # After initials only, their case decides: "J. R. Okafor", "J. R. OKAFOR", "b. d. owusu".
        if all(t.text.islower() for t in tokens[index:end]):
            return current.shape == "lower" and bool(current.flags & (STRONG | UNKNOWN | OBFUSCATED))
        if current.shape == "lower":
            return False
    shapes = shapes_of(tokens[index:end])
    if current.shape in ("any", "other"):
        # Its case is lost: it joins capitalized words, and lower-case ones that are no common word.
        return shapes != {"lower"} or all(
            t.flags & (STRONG | UNKNOWN | OBFUSCATED) for t in tokens[index:end] if t.shape != "initial"
        )
    if shapes != {current.shape} and not (shapes | {current.shape} <= {"title", "upper"}):
        return False
    if current.shape == "title":
        return True
    if lexicon_key(current.text) in FUNCTION_WORDS:
        return False
    if current.flags & (STRONG | UNKNOWN | OBFUSCATED):
        return True
    parts = [t for t in tokens[index:end] if t.shape != "initial"]
    return len(parts) == 1 and bool(parts[0].flags & (FIRST | FIRST_COMMON | UNKNOWN))


def firm_of_names(text: str, tokens: list[Token], members: list[tuple[int, int]]) -> bool:
    """Whether a list of names is the name of a firm: "the" before it, or a firm or place word right
    after its last member ("Jones, Smith and Davis Orchestra", "Barnett, Melton and Garcia LLC")."""
    first, last = tokens[members[0][0]], tokens[members[-1][1] - 1]
    if THE_BEFORE_RE.search(text, max(0, first.start - 8), first.start):
        return True
    after = WORD_AFTER_RE.match(text, last.end)
    return after is not None and not last.possessive and lexicon_key(after.group(1)) in PLACE_WORDS


def long_unknown(token: Token) -> bool:
    """An unlisted name-like word of four letters or more ("Muslija", "leonti")."""
    return token.flags == UNKNOWN and len(token.text) >= 4


def is_particle(token: Token, first: Token) -> bool:
    """A lower-case particle inside a capitalized name ("Willemine ten Pas", "Ana de Souza")."""
    return token is not first and token.shape == "lower" and token.text in NAME_PARTICLES


def particle_name(run: list[Token], parts: list[Token], before: str, place: bool) -> float:
    """A capitalized name with a particle between its parts ("Willemine ten Pas", "Ana da Costa"):
    every part name-like, one of them a listed name or no English word; not a place ("Rio de
    Janeiro" where the model saw a place, "in Villafranca del Cid")."""
    if place or PLACE_PREPOSITION_RE.search(before) or PLACE_BEFORE_RE.search(before):
        return 0.0
    if PLACE_KIND_BEFORE_RE.search(before):
        return 0.0
    if shapes_of(parts) != {"title"} or not all(t.flags & (NAME | UNKNOWN) for t in parts):
        return 0.0
    if not any(t.flags & (STRONG | UNKNOWN | OBFUSCATED) for t in parts):
        return 0.0
    return SCORE_WEAK if run[-1].shape == "title" else 0.0


def initial_between(text: str, tokens: list[Token], index: int, end: int) -> bool:
    """Whether ``tokens[index:end]`` is a word, one capital initial with its dot, and a word."""
    if end - index != 3 or tokens[index + 1].shape != "initial" or not tokens[index + 1].text.isupper():
        return False
    return text[tokens[index].end : tokens[index + 2].start] in (f" {tokens[index + 1].text}. ",)


def has_diacritic(word: str) -> bool:
    """A Latin letter with an accent or a letter such as ł, ø, ß ("Jeknić", "Łukasz")."""
    return not word.isascii() and lexicon_key(word) != "" and lexicon_key(word) != word.lower()


def person_or_title_before(before: str) -> bool:
    """Whether a title or a person word ends ``before``."""
    return TITLE_BEFORE_RE.search(before) is not None or PERSON_BEFORE_RE.search(before) is not None


def overlaps(spans: Sequence[tuple[int, int]], start: int, stop: int) -> bool:
    return any(s < stop and start < e for s, e in spans)


def covered_indices(names: dict[int, tuple[int, float]]) -> set[int]:
    return {i for index, (end, _) in names.items() for i in range(index, end)}


def list_members(text: str, tokens: list[Token], index: int) -> list[tuple[int, int]]:
    """The members (token ranges of one to three name-like words) of a list that starts at
    ``tokens[index]``, each separated from the next by a comma, "and", "or" or "&"."""
    members: list[tuple[int, int]] = []
    while index < len(tokens):
        end = index
        while (
            end < len(tokens)
            and end - index < 3
            and (tokens[end].flags & (NAME | UNKNOWN) or tokens[end].shape == "initial")
            and lexicon_key(tokens[end].text) not in FUNCTION_WORDS
            and (end == index or JOIN_RE.fullmatch(text[tokens[end - 1].end : tokens[end].start]))
            and not tokens[end].possessive
        ):
            end += 1
        if end == index or tokens[index].shape == "initial":
            break
        if (
            end < len(tokens)
            and JOIN_RE.fullmatch(text[tokens[end - 1].end : tokens[end].start])
            and (tokens[end].flags & (NAME | UNKNOWN) and lexicon_key(tokens[end].text) not in FUNCTION_WORDS)
        ):
            break  # four name-like words in a row: no list member
        members.append((index, end))
        separator = LIST_SEPARATOR_RE.match(text, tokens[end - 1].end)
        if separator is None or separator.end() == tokens[end - 1].end:
            break
        index = end
        while index < len(tokens) and tokens[index].start < separator.end():
            index += 1  # "and", "or"
        if index >= len(tokens) or tokens[index].start != separator.end():
            break
    return members


def surname_comma_first(text: str, tokens: list[Token], index: int, end: int) -> int:
    """End index of "Gonzalez, Maria" / "SMITH, JOHN" starting at ``index``, or 0: a listed
    surname that is not a common word, a comma, a listed first name, cased alike, and no
    further name part after it ("Hi team, Lynne Owensby" is no inverted name)."""
    if end != index + 1 or end >= len(tokens):
        return 0
    if text[tokens[index].end : tokens[end].start] not in (", ", ","):
        return 0
    surname, given = tokens[index], tokens[end]
    if VOCATIVE_AFTER_RE.match(text, surname.end):
        return 0  # "OKONKWO, CAN YOU CONFIRM ...": a vocative, not "Surname, First"
    if surname.possessive or not surname.flags & (NAME | UNKNOWN) or not given.flags & (NAME | UNKNOWN):
        return 0
    # A field or a line that starts with the name ("Stare, Ocie - card replacement") lets a
    # common-word surname or an unlisted first name count; elsewhere both must be listed. A line
    # that opens "Surname, Given - subject" needs no list at all ("spragg, margeart - card ...").
    at_start = FIELD_START_RE.search(text, 0, surname.start) is not None
    subject_line = (
        at_start
        and SUBJECT_AFTER_RE.match(text, given.end) is not None
        and min(len(surname.text), len(given.text)) >= 3
        and lexicon_key(given.text) not in FUNCTION_WORDS
    )
    listed_pair = bool(surname.flags & (LAST | OBFUSCATED)) and bool(given.flags & (FIRST | FIRST_COMMON))
    if (
        not listed_pair
        and not subject_line
        and not (
            at_start
            and (surname.flags & (LAST | LAST_COMMON | OBFUSCATED) or given.flags & (FIRST | OBFUSCATED))
            and (surname.flags | given.flags) & (STRONG | OBFUSCATED)
        )
    ):
        return 0
    shapes = shapes_of([surname, given])
    if len(shapes) != 1 or not shapes <= {"title", "upper", "lower"}:
        return 0
    if shapes == {"lower"} and not given.flags & (FIRST | OBFUSCATED) and not subject_line:
        return 0
    stop = end + 1
    while (
        stop < len(tokens)
        and tokens[stop].shape == "initial"
        and text[tokens[stop - 1].end : tokens[stop].start] == " "
    ):
        stop += 1  # "Gonzalez, Maria E."
    if stop < len(tokens) and JOIN_RE.fullmatch(text[tokens[stop - 1].end : tokens[stop].start]):
        if continues(tokens, end, stop) and tokens[stop].flags & (NAME | UNKNOWN):
            return 0
    separator = LIST_SEPARATOR_RE.match(text, tokens[stop - 1].end)
    if separator is not None and separator.end() > tokens[stop - 1].end:
        following = next((t for t in tokens[stop : stop + 2] if t.start == separator.end()), None)
        if (
            following is not None
            and following.shape == given.shape
            and following.flags & (NAME | UNKNOWN)
            and lexicon_key(following.text) not in FUNCTION_WORDS
        ):
            return 0  # "leonti, terrence, pamela and brian": a list, not "Surname, First"
    return stop
