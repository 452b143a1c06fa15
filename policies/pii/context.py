"""Context-word checks on raw text, where token lemmas do not help (Chinese runs, ``SS#``, whole words)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from policies.pii.word_trie import alternation


def has_context(
    text: str, start: int, end: int, words: Iterable[str], before: int = 30, after: int = 12
) -> bool:
    """True when one of ``words`` occurs shortly before or after ``text[start:end]``."""
    window = text[max(0, start - before) : start].casefold() + " " + text[end : end + after].casefold()
    return any(word in window for word in words)


class ContextWords:
    """Words that make a shape count: Latin ones as whole words, case-insensitively (``cell`` is not
    in ``cellulitis``, ``ssn`` not in ``classnotes``), Chinese ones anywhere (no spaces to bound them).

    Matched on the raw text around a candidate: Presidio's lemma-based enhancer sees a Chinese run
    as one token and drops ``#`` (``SS#``), so recognizers that need context check it themselves.
    The words are compiled as a trie (shared prefixes factored out): scanning a text for a hundred
    words then costs about what scanning for one does, where a flat alternation cost ten times more.
    At each position the longest word that fits wins, as with a longest-first alternation.
    """

    def __init__(self, words: Iterable[str]) -> None:
        latin = {w.lower() for w in words if w.isascii()}
        other = {w.lower() for w in words if not w.isascii()}
        parts = []
        if latin:
            parts.append(r"(?<![A-Za-z])" + alternation(latin) + r"(?![A-Za-z])")
        if other:
            parts.append(alternation(other))
        # Searched in the lower-cased text (a case-blind search is several times slower); where
        # lower-casing changes the text's length (a dotted capital I), in the text as it is.
        self._lower = re.compile("|".join(parts))
        self._any_case = re.compile("|".join(parts), re.IGNORECASE)

    def _scan(self, text: str) -> tuple[re.Pattern[str], str]:
        lowered = text.lower()
        if len(lowered) == len(text):
            return self._lower, lowered
        return self._any_case, text

    def anywhere(self, text: str) -> bool:
        """Whether one of the words occurs in ``text`` at all (a cheap pre-check)."""
        pattern, scanned = self._scan(text)
        return pattern.search(scanned) is not None

    def ends(self, text: str) -> list[int]:
        """Where each occurrence of a word in ``text`` ends."""
        return [end for _, end in self.spans(text)]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where each occurrence of a word in ``text`` starts and ends."""
        pattern, scanned = self._scan(text)
        return [match.span() for match in pattern.finditer(scanned)]

    def near(self, text: str, start: int, end: int, before: int = 40, after: int = 20) -> bool:
        """Whether one of the words ends within ``before`` characters before ``text[start:end]`` or
        starts within ``after`` characters after it."""
        pattern, scanned = self._scan(text)
        if pattern.search(scanned, max(0, start - before), start) is not None:
            return True
        stop = min(len(text), end + after)
        while stop < len(text) and text[stop].isalpha() and text[stop].isascii():
            stop += 1  # a word cut by the window is not a whole word
        return pattern.search(scanned, end, stop) is not None
