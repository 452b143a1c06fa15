"""``shape_of``'s fast path for ASCII words gives the answers of its letter-by-letter rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.names_tokens import shape_of


def _by_letters(word: str) -> str:
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
    return "title" if letters[0].isupper() else "other"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="abcXYZ0139'-éÉßİı", min_size=1, max_size=9))
def test_every_word_gets_the_shape_its_letters_give(word: str) -> None:
    assert shape_of(word) == _by_letters(word)


def test_shapes() -> None:
    assert [shape_of(w) for w in ("maria", "MARIA", "Maria", "mARIA", "M", "G0nzalez", "3lvia", "42")] == [
        "lower", "upper", "title", "other", "initial", "title", "any", "other",
    ]  # fmt: skip
