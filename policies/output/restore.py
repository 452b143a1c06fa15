"""Finding pseudonym tokens in model output, including the small ways a model alters them.

The input step writes ``[PERSON_1]`` or ``[CN_PHONE_2]``. Models echo them back as written,
but also as ``PERSON_1``, ``[person_1]``, ``[PERSON 1]`` or ``[ PERSON_1 ]``. A
:class:`TokenMatcher` finds all of these for the entity types in a restore map, and also every
well-formed token or redaction marker (restored or not, these are never taken for leaked PII).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import regex

from policies.output.config import NEVER_CHAR

# Same shape as the input step's tokens (policies.pii.pseudonymize.TOKEN_RE) and its
# irreversible redaction markers ([REDACTED_PERSON]), plus this filter's own markers.
_EXACT_TOKEN_RE = re.compile(r"^\[(?P<type>[A-Z][A-Z0-9_]*?)_(?P<number>[1-9]\d*)\]$")
_PROTECT = r"\[[A-Z][A-Z0-9_]{0,40}?_[1-9]\d{0,5}\]|\[REDACTED[_:][A-Za-z0-9_.:-]{1,64}\]"
_MAX_TYPE_LENGTH = 40


@dataclass(frozen=True)
class TokenMatcher:
    """A compiled token pattern. Group ``tok`` = a restorable variant (``type`` and ``num``
    inside), group ``lit`` = a map key of another shape, group ``keep`` = any other token."""

    pattern: Any  # regex.Pattern[str]
    pending: Any  # the same followed by NEVER_CHAR (see policies.output.config)
    window: int


def token_key(entity_type: str, number: str) -> tuple[str, int]:
    """The lookup key of a token variant: type upper-cased with spaces as ``_``, number as int."""
    return ("_".join(entity_type.upper().split()).replace(" ", "_"), int(number))


@dataclass(frozen=True)
class RestoreTable:
    """A restore map prepared for lookups by :func:`token_key`."""

    by_key: Mapping[tuple[str, int], str]
    literal: Mapping[str, str]
    matcher: TokenMatcher


def prepare_restore_map(restore_map: Mapping[str, str] | None) -> RestoreTable:
    """Index ``restore_map`` (token -> original value); ``None`` or empty = restore nothing."""
    by_key: dict[tuple[str, int], str] = {}
    literal: dict[str, str] = {}
    for token, value in (restore_map or {}).items():
        m = _EXACT_TOKEN_RE.match(token)
        if m is not None and len(m.group("type")) <= _MAX_TYPE_LENGTH:
            by_key[token_key(m.group("type"), m.group("number"))] = value
        else:
            literal[token] = value
    types = frozenset(t for t, _ in by_key)
    matcher = _matcher(types, tuple(sorted(literal)))
    return RestoreTable(MappingProxyType(by_key), MappingProxyType(literal), matcher)


def _type_alternatives(types: frozenset[str]) -> str:
    # Longest first so CN_PHONE is tried before a shorter type that is its prefix.
    parts = [
        r"[_ ]".join(regex.escape(w) for w in t.split("_")) for t in sorted(types, key=len, reverse=True)
    ]
    return "|".join(parts)


@functools.lru_cache(maxsize=512)
def _matcher(types: frozenset[str], literals: tuple[str, ...]) -> TokenMatcher:
    alternatives: list[str] = []
    window = 48
    if types:
        names = _type_alternatives(types)
        bracketed = rf"\[ ?(?P<type>{names})[_ ](?P<num>[1-9]\d{{0,5}}) ?\]"
        bare = rf"(?<![\w\[])(?P<btype>{names})_(?P<bnum>[1-9]\d{{0,5}})(?![\w\]])"
        alternatives.append(rf"(?P<tok>(?i:{bracketed}|{bare}))")
        window = max(window, max(len(t) for t in types) + 12)
    if literals:
        alternatives.append(
            "(?P<lit>" + "|".join(regex.escape(x) for x in sorted(literals, key=len, reverse=True)) + ")"
        )
        window = max(window, max(len(x) for x in literals))
    alternatives.append(f"(?P<keep>{_PROTECT})")
    joined = "|".join(alternatives)
    return TokenMatcher(regex.compile(joined), regex.compile(f"(?:{joined}){NEVER_CHAR}"), window)


def restored_value(table: RestoreTable, match: Any) -> tuple[str | None, str]:
    """For a match of ``table.matcher``: (original value or ``None`` to keep the text, entity type)."""
    groups = match.re.groupindex
    if "lit" in groups and match.group("lit") is not None:
        token = match.group("lit")
        m = _EXACT_TOKEN_RE.match(token)
        return table.literal.get(token), (m.group("type") if m else "TOKEN")
    if "tok" in groups and match.group("tok") is not None:
        etype = match.group("type") or match.group("btype")
        number = match.group("num") or match.group("bnum")
        key = token_key(etype, number)
        return table.by_key.get(key), key[0]
    return None, ""
