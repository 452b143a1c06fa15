"""A word list as one regular-expression group with shared prefixes factored out (a trie).

A flat alternation of a few hundred words ("street|st|avenue|...") is tried branch by branch at
every position a match could start; the trie reads each character once per position. Both ``re``
and ``regex`` accept the result. At each branch the longer continuation is tried first, so the
word matched is the longest that lets the rest of the pattern match: what a longest-first
alternation gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def alternation(words: Iterable[str]) -> str:
    """One non-capturing group that matches exactly ``words`` (escaped, in any case the caller's
    flags allow)."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        ends_here = "" in node
        body = branches[0] if len(branches) == 1 and not ends_here else "(?:" + "|".join(branches) + ")"
        return body + "?" if ends_here else body

    return "(?:" + emit(root) + ")"
