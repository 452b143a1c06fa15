"""A value detected in one message is found, as a whole word, wherever else the request holds it."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.pii.analyzer import Finding
from policies.pii.pseudonymize import KnownValue, known_values, propagate_known_values


def _regex_spans(value: str, text: str) -> list[tuple[int, int]]:
    """The reference: the value as a regex with word edges where it begins or ends with ASCII."""
    left = r"(?<!\w)" if value[0].isascii() and value[0].isalnum() else ""
    right = r"(?!\w)" if value[-1].isascii() and value[-1].isalnum() else ""
    return [m.span() for m in re.finditer(left + re.escape(value) + right, text)]


_ALPHABET = "ab1_ -.@é张٣\n"


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=4), st.text(_ALPHABET, max_size=40))
def test_occurrences_match_the_word_edged_regex(value: str, text: str) -> None:
    assert list(KnownValue(value, "PERSON").occurrences(text)) == _regex_spans(value, text)


def test_word_edges() -> None:
    item = KnownValue("Ana", "PERSON")
    assert list(item.occurrences("Ana, Anabel, _Ana, Ana_b, (Ana) Ana")) == [(0, 3), (27, 30), (32, 35)]
    # Only an ASCII letter or digit at the edge needs a boundary: a CJK name sits inside CJK text.
    assert list(KnownValue("张伟", "PERSON").occurrences("患者张伟今天来")) == [(2, 4)]
    # A digit of another script continues a word, as in `re`.
    assert list(KnownValue("12", "ID").occurrences("12٣ x12 12")) == [(8, 10)]


def test_propagation_adds_what_detection_missed_and_keeps_what_it_found() -> None:
    known = known_values({"Maria Gonzalez": "PERSON", "555-0100": "PHONE_NUMBER"})
    text = "Maria Gonzalez called; Maria Gonzalez's phone is 555-0100."
    found = [Finding("PERSON", 0, 14, 0.85)]
    out = propagate_known_values(text, found, known, protected=[])
    assert out[0] == found[0]
    assert sorted((f.entity_type, f.start, f.end) for f in out[1:]) == [
        ("PERSON", 23, 37),
        ("PHONE_NUMBER", 49, 57),
    ]
    # A protected span (the gateway's own pseudonym, a closed word) is left alone.
    assert propagate_known_values(text, found, known, protected=[(49, 57)])[1:] == [
        Finding("PERSON", 23, 37, 1.0)
    ]
