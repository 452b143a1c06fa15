"""ContextWords (a trie over lower-cased text) finds what a longest-first, case-blind alternation
of the same words finds, at the same places."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.context import ContextWords

WORDS = [
    *("ssn", "ssn#", "ss #", "social", "soc sec", "account", "account no", "account number", "a/c"),
    *("no", "number", "routing", "aba", "id number", "nhs no", "passport", "pp#", "henkilötunnus"),
    *("numéro de sécurité sociale", "身份证", "身份证号码", "账号", "护照"),
]


class _Reference:
    """The flat alternation ContextWords replaced."""

    def __init__(self, words: list[str]) -> None:
        latin = sorted({w.lower() for w in words if w.isascii()}, key=len, reverse=True)
        other = sorted({w for w in words if not w.isascii()}, key=len, reverse=True)
        parts = [r"(?<![A-Za-z])(?:" + "|".join(regex.escape(w) for w in latin) + r")(?![A-Za-z])"]
        parts.extend(regex.escape(w) for w in other)
        self.re = regex.compile("|".join(parts), regex.IGNORECASE)

    def ends(self, text: str) -> list[int]:
        return [m.end() for m in self.re.finditer(text)]


_PIECES = st.sampled_from(
    [*WORDS, *(w.upper() for w in WORDS), *(w.title() for w in WORDS), " ", "  ", "x", "S", "#", ".",
     "1", "-", "classnotes", "ssnx", "İ", "é", "号", ":"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_the_trie_finds_what_the_alternation_found(pieces: list[str]) -> None:
    text = "".join(pieces)
    words = ContextWords(WORDS)
    reference = _Reference(WORDS)
    assert words.ends(text) == reference.ends(text)
    assert words.anywhere(text) == bool(reference.ends(text))


def test_longest_word_wins_and_words_stay_whole() -> None:
    words = ContextWords(WORDS)
    assert words.ends("Account Number: 1234") == [len("Account Number")]
    assert words.ends("classnotes ssnx") == []
    assert words.ends("NUMÉRO DE SÉCURITÉ SOCIALE 1") == [len("NUMÉRO DE SÉCURITÉ SOCIALE")]
    # A dotted capital I lengthens the lower-cased text: offsets stay on the text as given.
    assert words.ends("İİ ssn 1") == [6]
    assert words.near("call SSN: 536221234", 10, 19)
