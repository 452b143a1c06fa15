"""``shape_of``'s fast path for ASCII words gives the answers of its letter-by-letter rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.names_tokens import shape_by_letters, shape_of


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="abcXYZ0139'-éÉßİı", min_size=1, max_size=9))
def test_every_word_gets_the_shape_its_letters_give(word: str) -> None:
    assert shape_of(word) == shape_by_letters(word)


def test_shapes() -> None:
    assert [shape_of(w) for w in ("maria", "MARIA", "Maria", "mARIA", "M", "G0nzalez", "3lvia", "42")] == [
        "lower", "upper", "title", "other", "initial", "title", "any", "other",
    ]  # fmt: skip
