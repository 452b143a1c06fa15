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
from typing import Annotated, Literal, cast

import msgspec

from policies.documents import Document, RuleId
from policies.errors import PolicyDocumentError

InjectionAction = Literal["flag", "block"]
_SEVERITY = {"off": 0, "flag": 1, "block": 2}
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


# ----------------------------------------------------------------------------- the document

ScreeningAction = Literal["block", "flag", "off"]


class InjectionIndicatorDocument(Document, frozen=True, kw_only=True):
    """One indicator in output.yaml's ``injection.indicators``."""

    id: RuleId
    patterns: Annotated[tuple[Annotated[str, msgspec.Meta(min_length=1)], ...], msgspec.Meta(min_length=1)]
    description: str = ""


class InjectionDocument(Document, frozen=True, kw_only=True):
    """output.yaml's ``injection`` section (``None`` fields: written but left empty)."""

    default_action: ScreeningAction = "flag"
    roles: dict[str, ScreeningAction] | None = None
    indicators: tuple[InjectionIndicatorDocument, ...] | None = None


def parse_injection_policy(section: InjectionDocument | None, source: str, key: str) -> InjectionPolicy:
    """Build the policy from the decoded ``injection`` section (``key`` is its dotted path).

    Raises PolicyDocumentError for a duplicate indicator id or a pattern that does not compile.
    """
    if section is None:
        return InjectionPolicy()
    indicators: list[InjectionIndicator] = []
    seen: set[str] = set()
    for i, item in enumerate(section.indicators or ()):
        ikey = f"{key}.indicators[{i}]"
        if item.id in seen:
            raise PolicyDocumentError(source, f"{ikey}.id", "duplicate indicator id")
        seen.add(item.id)
        compiled: list[re.Pattern[str]] = []
        for j, pattern in enumerate(item.patterns):
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error:
                raise PolicyDocumentError(
                    source, f"{ikey}.patterns[{j}]", "is not a valid regular expression"
                ) from None
        indicators.append(InjectionIndicator(item.id, item.patterns, tuple(compiled)))
    return InjectionPolicy(
        indicators=tuple(indicators),
        default_action=section.default_action,
        role_actions=MappingProxyType(dict(section.roles or {})),
    )
