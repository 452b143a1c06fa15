"""Input-side screening for prompt-injection and jailbreak indicators.

Texts are normalized before matching (NFKC, case folding, zero-width and bidi controls removed,
whitespace runs collapsed), so full-width letters or characters hidden between the letters of
"ignore previous instructions" do not evade an indicator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from policies.errors import PolicyDocumentError

InjectionAction = Literal["flag", "block"]
_SEVERITY = {"off": 0, "flag": 1, "block": 2}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_KEYS = frozenset({"default_action", "roles", "indicators"})
_INDICATOR_KEYS = frozenset({"id", "patterns", "description"})
# Zero-width characters, soft hyphen, word joiners, BOM and bidi controls: invisible, so they can
# hide inside a keyword without changing what a reader (or the model) sees.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class InjectionIndicator:
    """One indicator: any of its patterns matching the normalized text (case-insensitive).

    Patterns see text after :func:`normalize_for_screening`, and also that text with every space
    removed, so a Chinese pattern needs no allowance for spaces between characters.
    """

    id: str
    patterns: tuple[str, ...]
    compiled: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class InjectionPolicy:
    """Indicators and what each role does on a match: ``flag`` (recorded), ``block`` (refused), ``off``."""

    indicators: tuple[InjectionIndicator, ...] = ()
    default_action: str = "flag"
    role_actions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class InjectionFinding:
    """An indicator found in the input and the action decided for the caller. Never holds text."""

    indicator_id: str
    action: InjectionAction


def normalize_for_screening(text: str) -> str:
    """NFKC, invisible characters removed, case folded, whitespace runs collapsed to one space."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE_RE.sub("", text)
    return _SPACE_RE.sub(" ", text.casefold())


def action_for_roles(policy: InjectionPolicy, role_names: Sequence[str]) -> str:
    """The strictest action among the caller's roles (``default_action`` for roles not listed)."""
    actions = [policy.role_actions.get(r, policy.default_action) for r in role_names] or [
        policy.default_action
    ]
    return max(actions, key=_SEVERITY.__getitem__)


def screen_for_injection(
    texts: Sequence[str], policy: InjectionPolicy, role_names: Sequence[str]
) -> list[InjectionFinding]:
    """Indicators found in any of ``texts``, each reported once, with the caller's action.

    Empty when the caller's action is ``off`` or nothing matched.
    """
    action = action_for_roles(policy, role_names)
    if action == "off" or not policy.indicators:
        return []
    normalized = [normalize_for_screening(t) for t in texts if t]
    # A second form without spaces catches "忽 略 之 前 的 指 令" (spaces between CJK characters).
    normalized += [t.replace(" ", "") for t in normalized if " " in t]
    findings: list[InjectionFinding] = []
    for indicator in policy.indicators:
        if any(p.search(t) for t in normalized for p in indicator.compiled):
            findings.append(InjectionFinding(indicator.id, cast(InjectionAction, action)))
    return findings


def parse_injection_policy(raw: Any, source: str, key: str) -> InjectionPolicy:
    """Validate the ``injection`` section; raise PolicyDocumentError with the dotted key."""
    if raw is None:
        return InjectionPolicy()
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping")
    for name in raw:
        if name not in _KEYS:
            raise PolicyDocumentError(source, f"{key}.{name}", "unknown key")
    default_action = raw.get("default_action", "flag")
    if default_action not in _SEVERITY:
        raise PolicyDocumentError(source, f"{key}.default_action", "must be one of block, flag, off")
    roles = raw.get("roles") or {}
    if not isinstance(roles, Mapping):
        raise PolicyDocumentError(source, f"{key}.roles", "must be a mapping of role to action")
    for role, value in roles.items():
        if value not in _SEVERITY:
            raise PolicyDocumentError(source, f"{key}.roles.{role}", "must be one of block, flag, off")
    raw_indicators = raw.get("indicators") or []
    if not isinstance(raw_indicators, list):
        raise PolicyDocumentError(source, f"{key}.indicators", "must be a list")
    indicators: list[InjectionIndicator] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_indicators):
        ikey = f"{key}.indicators.{i}"
        if not isinstance(item, Mapping):
            raise PolicyDocumentError(source, ikey, "must be a mapping")
        for name in item:
            if name not in _INDICATOR_KEYS:
                raise PolicyDocumentError(source, f"{ikey}.{name}", "unknown key")
        ind_id = item.get("id")
        if not isinstance(ind_id, str) or not _ID_RE.match(ind_id):
            raise PolicyDocumentError(source, f"{ikey}.id", "must be an id of letters, digits, _ . : -")
        if ind_id in seen:
            raise PolicyDocumentError(source, f"{ikey}.id", "duplicate indicator id")
        seen.add(ind_id)
        patterns = item.get("patterns")
        if not isinstance(patterns, list) or not patterns:
            raise PolicyDocumentError(
                source, f"{ikey}.patterns", "must be a non-empty list of regular expressions"
            )
        compiled: list[re.Pattern[str]] = []
        for j, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not pattern:
                raise PolicyDocumentError(source, f"{ikey}.patterns.{j}", "must be a non-empty string")
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error:
                raise PolicyDocumentError(
                    source, f"{ikey}.patterns.{j}", "is not a valid regular expression"
                ) from None
        indicators.append(InjectionIndicator(ind_id, tuple(patterns), tuple(compiled)))
    return InjectionPolicy(
        indicators=tuple(indicators),
        default_action=str(default_action),
        role_actions=MappingProxyType({str(k): str(v) for k, v in roles.items()}),
    )
