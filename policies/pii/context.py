"""Context-word checks on raw text, where token lemmas do not help (Chinese runs, ``SS#``, whole words)."""

from __future__ import annotations

from collections.abc import Iterable

import regex


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
    """

    def __init__(self, words: Iterable[str]) -> None:
        latin = sorted({w.lower() for w in words if w.isascii()}, key=len, reverse=True)
        other = sorted({w for w in words if not w.isascii()}, key=len, reverse=True)
        parts = []
        if latin:
            parts.append(r"(?<![A-Za-z])(?:" + "|".join(regex.escape(w) for w in latin) + r")(?![A-Za-z])")
        if other:
            parts.extend(regex.escape(w) for w in other)
        self._re = regex.compile("|".join(parts), regex.IGNORECASE)

    def anywhere(self, text: str) -> bool:
        """Whether one of the words occurs in ``text`` at all (a cheap pre-check)."""
        return self._re.search(text) is not None

    def ends(self, text: str) -> list[int]:
        """Where each occurrence of a word in ``text`` ends."""
        return [match.end() for match in self._re.finditer(text)]

    def near(self, text: str, start: int, end: int, before: int = 40, after: int = 20) -> bool:
        """Whether one of the words ends within ``before`` characters before ``text[start:end]`` or
        starts within ``after`` characters after it."""
        if self._re.search(text, max(0, start - before), start) is not None:
            return True
        stop = min(len(text), end + after)
        while stop < len(text) and text[stop].isalpha() and text[stop].isascii():
            stop += 1  # a word cut by the window is not a whole word
        return self._re.search(text, end, stop) is not None
