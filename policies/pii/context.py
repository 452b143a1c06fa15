"""Context-word checks on raw text, for languages where token lemmas do not help (Chinese)."""

from __future__ import annotations

from collections.abc import Iterable


def has_context(
    text: str, start: int, end: int, words: Iterable[str], before: int = 30, after: int = 12
) -> bool:
    """True when one of ``words`` occurs shortly before or after ``text[start:end]``."""
    window = text[max(0, start - before) : start].casefold() + " " + text[end : end + after].casefold()
    return any(word in window for word in words)
