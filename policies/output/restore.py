"""Finding this request's pseudonym tokens in model output, including the small ways a model alters them.

The input step writes ``[PERSON_1]`` or ``[CN_PHONE_2]``. Models echo them back as written,
but also as ``PERSON_1``, ``[person_1]``, ``[PERSON 1]`` or ``[ PERSON_1 ]``. A
:class:`TokenMatcher` finds all of these for the tokens one request issued, and nothing else: a
token shape the request did not issue (``[PERSON_7]`` when it made only ``[PERSON_1]``,
``[CC_4111111111111111]``, ``[REDACTED:4111-1111-1111-1111]``) is text, for the filter to scan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import regex

from policies.output.config import NEVER_CHAR

# How a restore map's keys are read: the input step's tokens (policies.pii.pseudonymize). A key of
# another shape is looked for literally.
_EXACT_TOKEN_RE = re.compile(r"^\[(?P<type>[A-Z][A-Z0-9_]*?)_(?P<number>[1-9]\d{0,5})\]$")
_MAX_TYPE_LENGTH = 40


@dataclass(frozen=True)
class TokenMatcher:
    """A compiled token pattern. Group ``tok`` = a variant of a token of one of the request's
    types (``type``/``num`` or ``btype``/``bnum`` inside; the number may be one the request did
    not issue), group ``lit`` = a token of another shape, exactly."""

    pattern: Any  # regex.Pattern[str]
    pending: Any  # the same followed by NEVER_CHAR (see policies.output.config)
    window: int


def token_key(entity_type: str, number: str) -> tuple[str, int]:
    """The lookup key of a token variant: type upper-cased with spaces as ``_``, number as int."""
    return ("_".join(entity_type.upper().split()).replace(" ", "_"), int(number))


@dataclass(frozen=True)
class RestoreTable:
    """A request's tokens prepared for lookups by :func:`token_key`: those to restore (with their
    values) and all it issued. ``matcher`` is None when it issued none."""

    by_key: Mapping[tuple[str, int], str]
    literal: Mapping[str, str]
    issued_keys: frozenset[tuple[str, int]]
    issued_literals: frozenset[str]
    matcher: TokenMatcher | None


def prepare_restore_map(restore_map: Mapping[str, str] | None, issued: Iterable[str] = ()) -> RestoreTable:
    """Index ``restore_map`` (token -> original value; ``None`` or empty = restore nothing) and
    ``issued`` (every token the request issued, restorable or not: these are kept as written)."""
    by_key: dict[tuple[str, int], str] = {}
    literal: dict[str, str] = {}
    for token, value in (restore_map or {}).items():
        key = _key_of(token)
        if key is not None:
            by_key[key] = value
        else:
            literal[token] = value
    issued_keys = set(by_key)
    issued_literals = set(literal)
    for token in issued:
        key = _key_of(token)
        if key is not None:
            issued_keys.add(key)
        else:
            issued_literals.add(token)
    types = frozenset(t for t, _ in issued_keys)
    matcher = _matcher(types, tuple(sorted(issued_literals))) if types or issued_literals else None
    return RestoreTable(
        MappingProxyType(by_key),
        MappingProxyType(literal),
        frozenset(issued_keys),
        frozenset(issued_literals),
        matcher,
    )


def _key_of(token: str) -> tuple[str, int] | None:
    m = _EXACT_TOKEN_RE.match(token)
    if m is None or len(m.group("type")) > _MAX_TYPE_LENGTH:
        return None
    return token_key(m.group("type"), m.group("number"))


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
    joined = "|".join(alternatives)
    return TokenMatcher(regex.compile(joined), regex.compile(f"(?:{joined}){NEVER_CHAR}"), window)


def token_value(table: RestoreTable, match: Any) -> tuple[str | None, str] | None:
    """For a match of ``table.matcher``: None when the request did not issue that token (the text
    is not a token), else (original value, or ``None`` to keep the token as written; entity type).

    Only an exact key of the request's map, or one of its variants, is ever restored: a token
    the request did not issue unmasks nothing."""
    groups = match.re.groupindex
    if "lit" in groups and match.group("lit") is not None:
        token = match.group("lit")
        m = _EXACT_TOKEN_RE.match(token)
        return table.literal.get(token), (m.group("type") if m else "TOKEN")
    if "tok" in groups and match.group("tok") is not None:
        etype = match.group("type") or match.group("btype")
        number = match.group("num") or match.group("bnum")
        key = token_key(etype, number)
        if key not in table.issued_keys:
            return None
        return table.by_key.get(key), key[0]
    return None
