"""The retention policy (retention.yaml): how long each kind of audit record keeps its content.

Each rule names record kinds (an exact kind such as ``chat.request``, or every kind under a prefix
such as ``chat.*``) and gives a minimum and a maximum age in days. Past its maximum a record's
content is removed by a retention run (the header and hashes stay, so the chain verifies); no
retention run removes content younger than its minimum. ``max_days: null`` keeps content for as
long as the log exists. The most specific rule decides: the exact kind, then the longest prefix,
then ``default``.

``legal_minimum_days`` states, with the same patterns, how long the law requires records to be
kept (banking and hospital record laws; China's Cybersecurity Law: network logs at least six
months). It lives in the document, so the shipped default states it and a site overlay can raise
it (or, explicitly and visibly in its own file, change it). A policy whose maximum for some kind
is below that kind's legal minimum is refused when it loads, naming the rule and never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from policies.documents import Document, decode_document
from policies.errors import PolicyDocumentError

#: ``chat.request`` (one kind), ``chat.*`` (every kind under ``chat.``) or ``*`` (every kind).
KindPattern = Annotated[str, msgspec.Meta(pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")]
Days = Annotated[int, msgspec.Meta(ge=0, le=36500)]


class RetentionRuleDocument(Document, frozen=True, kw_only=True):
    """One rule: content is kept at least ``min_days`` and at most ``max_days`` (null: forever)."""

    min_days: Days = 0
    max_days: Days | None = None


class RetentionSection(Document, frozen=True, kw_only=True):
    """The ``retention:`` section of retention.yaml."""

    version: Literal[1] = 1
    default: RetentionRuleDocument = RetentionRuleDocument()
    kinds: dict[KindPattern, RetentionRuleDocument] = msgspec.field(default_factory=dict)
    legal_minimum_days: dict[KindPattern, Days] = msgspec.field(default_factory=dict)


class RetentionDocument(Document, frozen=True, kw_only=True):
    """The whole retention.yaml document."""

    retention: RetentionSection = RetentionSection()


@dataclass(frozen=True)
class RetentionRule:
    """The limits of one kind pattern (``pattern`` is ``default`` for the fallback rule)."""

    pattern: str
    min_days: int
    max_days: int | None


def _prefix(pattern: str) -> str | None:
    """``chat.`` for ``chat.*``, the empty prefix for ``*``; None for an exact kind."""
    if pattern == "*":
        return ""
    return pattern[:-1] if pattern.endswith(".*") else None


def pattern_matches(pattern: str, kind: str) -> bool:
    """Whether ``pattern`` (exact, ``prefix.*`` or ``*``) names ``kind``."""
    prefix = _prefix(pattern)
    return kind == pattern if prefix is None else kind.startswith(prefix)


def _covers(wide: str, narrow: str) -> bool:
    """Every kind ``narrow`` names is named by ``wide`` too."""
    wide_prefix, narrow_prefix = _prefix(wide), _prefix(narrow)
    if wide_prefix is None:
        return wide == narrow
    return (narrow_prefix if narrow_prefix is not None else narrow).startswith(wide_prefix)


def _overlap(a: str, b: str) -> bool:
    return _covers(a, b) or _covers(b, a)


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention policy in force: the limits of every record kind."""

    default: RetentionRule
    rules: tuple[RetentionRule, ...]
    legal_minimum_days: Mapping[str, int]

    def rule_for(self, kind: str) -> RetentionRule:
        """The rule that decides ``kind``: exact kind, then the longest prefix, then the default."""
        best: RetentionRule | None = None
        for rule in self.rules:
            if rule.pattern == kind:
                return rule
            if pattern_matches(rule.pattern, kind) and (
                best is None or len(rule.pattern) > len(best.pattern)
            ):
                best = rule
        return best or self.default

    def limits_for(self, kind: str) -> tuple[int, int | None]:
        """``(min_days, max_days)`` of ``kind`` (``max_days`` None: kept forever)."""
        rule = self.rule_for(kind)
        return rule.min_days, rule.max_days

    def legal_minimum_for(self, kind: str) -> int:
        """The longest legal minimum that names ``kind`` (0 when none does)."""
        return max(
            (days for pattern, days in self.legal_minimum_days.items() if pattern_matches(pattern, kind)),
            default=0,
        )


def _check_rule(rule: RetentionRule, source: str, key: str) -> None:
    if rule.max_days is not None and rule.max_days < rule.min_days:
        raise PolicyDocumentError(source, f"{key}.max_days", "is below min_days")


def _check_legal_minimums(policy: RetentionPolicy, source: str) -> None:
    """Refuse any rule that could remove content of a kind before its legal minimum.

    A rule is checked against every legal minimum whose kinds it may decide (their patterns
    overlap); the default rule against those no other rule fully covers."""
    for legal_pattern, days in policy.legal_minimum_days.items():
        for rule in policy.rules:
            if _overlap(rule.pattern, legal_pattern) and rule.max_days is not None and rule.max_days < days:
                raise PolicyDocumentError(
                    source,
                    f"retention.kinds.{rule.pattern}.max_days",
                    f"is below the legal minimum for {legal_pattern}",
                )
        covered = any(_covers(rule.pattern, legal_pattern) for rule in policy.rules)
        if not covered and policy.default.max_days is not None and policy.default.max_days < days:
            raise PolicyDocumentError(
                source, "retention.default.max_days", f"is below the legal minimum for {legal_pattern}"
            )


def parse_retention_policy(doc: Mapping[str, Any], source: str) -> RetentionPolicy:
    """Validate a retention.yaml document (already YAML-decoded) and build the policy.

    Raises :class:`PolicyDocumentError` naming the dotted key of the first problem: unknown
    fields, bad kind patterns, negative days, a maximum below its minimum, or a maximum below the
    legal minimum of a kind it decides.
    """
    section = decode_document(doc, RetentionDocument, source).retention
    default = RetentionRule("default", section.default.min_days, section.default.max_days)
    _check_rule(default, source, "retention.default")
    rules = []
    for pattern, body in section.kinds.items():
        rule = RetentionRule(pattern, body.min_days, body.max_days)
        _check_rule(rule, source, f"retention.kinds.{pattern}")
        rules.append(rule)
    policy = RetentionPolicy(default, tuple(rules), dict(section.legal_minimum_days))
    _check_legal_minimums(policy, source)
    return policy
