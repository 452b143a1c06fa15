"""The trie of a word list matches what the longest-first alternation of the same words matches."""

from __future__ import annotations

import re

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.address_patterns_en import EN_TYPES, EN_WEAK_TYPES, PREFIX_TYPES_SURE
from policies.pii.word_trie import alternation

_WORDS = st.lists(st.text(alphabet="abc. /", min_size=1, max_size=5), min_size=1, max_size=12)


def _flat(words: set[str]) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


@settings(max_examples=300, deadline=None)
@given(
    words=_WORDS,
    text=st.text(alphabet="abcABC. /x", max_size=30),
    follow=st.sampled_from(["", "(?![a-z])", "x"]),
)
def test_trie_and_flat_alternation_match_alike(words: list[str], text: str, follow: str) -> None:
    unique = set(words)
    for engine in (re, regex):
        trie = engine.compile(alternation(unique) + follow, engine.IGNORECASE)
        flat = engine.compile(_flat(unique) + follow, engine.IGNORECASE)
        assert [m.span() for m in trie.finditer(text)] == [m.span() for m in flat.finditer(text)]


def test_the_street_type_lists_match_alike_in_street_lines() -> None:
    types = {*EN_TYPES, *EN_WEAK_TYPES, *PREFIX_TYPES_SURE}
    trie = regex.compile(r"\d+ (?:\w+ ){1,3}(?i:" + alternation(types) + r")\.?(?![\w])")
    flat = regex.compile(r"\d+ (?:\w+ ){1,3}(?i:" + _flat(types) + r")\.?(?![\w])")
    text = " ".join(f"{n} Oak Hill {t}" for n, t in enumerate(sorted(types))) + " 12 Bay Streets 4 Mill Rd."
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in flat.finditer(text)]
