"""Decoding policy documents: any input either loads or fails with a PolicyDocumentError naming a key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.errors import PolicyDocumentError
from policies.output.config import parse_output_policy
from policies.pii.config import parse_pii_policy
from policies.rbac import parse_rbac_policy

SECRET = "zq-secret-value"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.floats(-2, 2),
    st.sampled_from(["", " ", SECRET, "chat"]),
)
keys = st.sampled_from(
    ["roles", "pii", "output", "profiles", "rules", "permissions", "id", "action", "regex", "x", SECRET]
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


def _fails_cleanly(parse: Callable[[Mapping[str, Any], str], object], doc: Any) -> None:
    try:
        parse(doc, "site.yaml")
    except PolicyDocumentError as exc:
        assert exc.key and exc.reason
        assert SECRET not in exc.reason


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, values, max_size=3))
def test_any_document_loads_or_names_a_key_without_echoing_values(doc: dict[str, Any]) -> None:
    for parse in (parse_rbac_policy, parse_pii_policy, parse_output_policy):
        _fails_cleanly(parse, doc)
        for top in ("roles", "pii", "output"):
            _fails_cleanly(parse, {top: doc})
