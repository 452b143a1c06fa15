"""An alternation of output rules scanned rule by rule, with the alternation's own results.

The ``regex`` module tries every alternative of ``(?P<r0>...)|(?P<r1>...)|...`` at every position of
the text, so a literal prefix (``sk-``, ``AKIA``, a phrase's first word) speeds up none of them:
the nine default rules took about 200 µs on a 300-character answer, one by one about 17 µs. This
module searches each rule on its own (each with its own prefix and required-string speed-ups) and
merges the matches the way the alternation would have produced them: the leftmost start wins, at
equal starts the earlier rule, and scanning goes on after the match taken.

On a few characters (a stream's next chunk) one alternation is still cheaper than a search per rule,
so the scanners keep it too and use it below :data:`SPLIT_FROM` characters.

That merge equals the alternation only for rules that never match the empty string (an empty
match would advance the alternation's scan by one character in its own way); :func:`split_rules`
returns ``None`` for such rules, or for patterns whose width cannot be read, and the caller keeps
the single alternation for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import regex

#: Below this many characters to scan, the single alternation is faster (measured per call: 8
#: characters 16 µs joined, 18 µs rule by rule; 16 characters 38 and 25; 512 characters 645 and 52).
SPLIT_FROM = 16


class RuleAlternation:
    """``finditer`` over rules compiled one by one, yielding the matches (and group names) that
    ``joined.finditer`` (``joined``: the alternation of the same patterns) would yield."""

    def __init__(self, patterns: Sequence[Any], joined: Any) -> None:
        self._patterns = tuple(patterns)
        self._joined = joined

    @property
    def pattern(self) -> str:
        """The alternation's source (for reprs and error messages)."""
        return str(self._joined.pattern)

    def finditer(self, text: str, pos: int = 0) -> Iterator[Any]:
        """The non-overlapping matches from ``pos`` on, left to right, as the alternation finds them."""
        if len(text) - pos < SPLIT_FROM:
            return self._joined.finditer(text, pos)  # type: ignore[no-any-return]
        return self._merged(text, pos)

    def _merged(self, text: str, pos: int) -> Iterator[Any]:
        patterns = self._patterns
        nexts = [p.search(text, pos) for p in patterns]
        while True:
            best: Any = None
            for found in nexts:
                # Strictly earlier only: at equal starts the earlier rule keeps the match.
                if found is not None and (best is None or found.start() < best.start()):
                    best = found
            if best is None:
                return
            yield best
            pos = best.end()
            for index, found in enumerate(nexts):
                if found is not None and found.start() < pos:
                    nexts[index] = patterns[index].search(text, pos)


class PendingAlternation:
    """``search(..., partial=True)`` of the alternation followed by a never-occurring character:
    the leftmost place where any rule could still match, as the combined pattern reports it."""

    def __init__(self, patterns: Sequence[Any], joined: Any) -> None:
        self._patterns = tuple(patterns)
        self._joined = joined

    def search(self, text: str, pos: int = 0, *, partial: bool = False) -> Any:
        """The leftmost (partial) match of any rule from ``pos`` on; the earlier rule at a tie."""
        if len(text) - pos < SPLIT_FROM:
            return self._joined.search(text, pos, partial=partial)
        best: Any = None
        for pattern in self._patterns:
            found = pattern.search(text, pos, partial=partial)
            if found is not None and (best is None or found.start() < best.start()):
                best = found
        return best


def _min_width(pattern: str) -> int | None:
    """Lower bound on a match's length, or ``None`` where the stdlib parser cannot tell."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        return int(_parser.parse(pattern).getwidth()[0])
    except Exception:  # regex-only syntax the stdlib parser rejects
        return None


def split_rules(
    named_patterns: Sequence[str], never_char: str
) -> tuple[RuleAlternation, PendingAlternation] | None:
    """Scanners for the named rule patterns (``(?P<r0>...)`` and so on), or ``None`` where a rule
    might match the empty string or its width cannot be read (keep the single alternation)."""
    if not named_patterns:
        return None
    for source in named_patterns:
        width = _min_width(source)
        if width is None or width == 0:
            return None
    joined = "|".join(named_patterns)
    matchers = [regex.compile(source) for source in named_patterns]
    pendings = [regex.compile(f"(?:{source}){never_char}") for source in named_patterns]
    return (
        RuleAlternation(matchers, regex.compile(joined)),
        PendingAlternation(pendings, regex.compile(f"(?:{joined}){never_char}")),
    )
