"""Turning findings into tokens, masks or refusals, with prefix-stable numbering."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from policies.pii.analyzer import Finding
from policies.pii.config import Action, PIIProfile
from policies.pii.normalize import canonical_value, normalize

# A pseudonym: [PERSON_1]. A redaction: [REDACTED_PERSON] (no trailing number, and custom
# entity types may not start with REDACTED, so the two forms never collide).
TOKEN_RE = re.compile(r"\[(?P<type>[A-Z][A-Z0-9_]*?)_(?P<number>[1-9]\d*)\]")
REDACTED_PREFIX = "REDACTED_"
_MIN_PROPAGATED_LENGTH = 2


def redaction_token(entity_type: str) -> str:
    """The irreversible replacement for ``entity_type``."""
    return f"[{REDACTED_PREFIX}{entity_type}]"


def mask_value(value: str) -> str:
    """Keep the last four letters or digits; every other letter or digit becomes ``*``."""
    chars = [ch for ch in normalize(value).text if ch.isalnum()]
    if len(chars) <= 4:
        return "*" * len(chars)
    return "*" * (len(chars) - 4) + "".join(chars[-4:])


@dataclass
class Pseudonymizer:
    """Token assignment for one request: same value -> same token; numbers never reused.

    Numbers follow the order in which values first appear, so a conversation that
    grows by appending messages keeps the tokens of its earlier messages.
    """

    token_to_value: dict[str, str] = field(default_factory=dict)
    _canonical: dict[str, str] = field(default_factory=dict)
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _used: dict[str, set[int]] = field(default_factory=dict)
    _next: Counter[str] = field(default_factory=Counter)

    def reserve_tokens_in(self, text: str) -> list[tuple[int, int]]:
        """Mark the numbers of tokens already in ``text`` as taken; return their spans."""
        spans: list[tuple[int, int]] = []
        for match in TOKEN_RE.finditer(text):
            self._used.setdefault(match.group("type"), set()).add(int(match.group("number")))
            spans.append((match.start(), match.end()))
        return spans

    def token_for(self, entity_type: str, value: str) -> str:
        """The pseudonym of ``value``; a new one gets the next free number for its type."""
        canonical = self._canonical.get(value)
        if canonical is None:
            canonical = self._canonical[value] = canonical_value(value)
        identity = (entity_type, canonical)
        token = self._by_value.get(identity)
        if token is not None:
            return token
        used = self._used.setdefault(entity_type, set())
        number = self._next[entity_type] + 1
        while number in used:
            number += 1
        used.add(number)
        self._next[entity_type] = number
        token = f"[{entity_type}_{number}]"
        self._by_value[identity] = token
        self.token_to_value[token] = value
        return token


@dataclass
class ActionTally:
    """Counts (never values) of what was found and done, for the audit record."""

    entities: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    blocked: set[str] = field(default_factory=set)


def select_findings(
    findings: Iterable[Finding], profile: PIIProfile, protected: Sequence[tuple[int, int]]
) -> list[Finding]:
    """Findings at or above the profile's threshold, overlaps merged, none inside a token.

    Overlapping findings become one span (their union) with the type of the highest
    score, so no part of either value survives.
    """
    kept = sorted(
        (
            f
            for f in findings
            if f.score >= profile.min_score and not any(f.start < e and s < f.end for s, e in protected)
        ),
        key=lambda f: (f.start, -f.end),
    )
    merged: list[Finding] = []
    for finding in kept:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            best = last if last.score >= finding.score else finding
            merged[-1] = Finding(best.entity_type, last.start, max(last.end, finding.end), best.score)
        else:
            merged.append(finding)
    return merged


@dataclass(frozen=True)
class KnownValue:
    """A value detected somewhere in the request, and how to find it elsewhere."""

    value: str
    entity_type: str
    pattern: re.Pattern[str]


def known_values(values: dict[str, str]) -> list[KnownValue]:
    """Search patterns for ``values`` (exact value -> entity type), longest value first."""
    known = []
    for value in sorted(values, key=len, reverse=True):
        # Word characters at a value's edge must not continue into a longer word.
        left = r"(?<!\w)" if value[0].isascii() and value[0].isalnum() else ""
        right = r"(?!\w)" if value[-1].isascii() and value[-1].isalnum() else ""
        known.append(KnownValue(value, values[value], re.compile(left + re.escape(value) + right)))
    return known


def propagate_known_values(
    text: str,
    findings: list[Finding],
    known: Sequence[KnownValue],
    protected: Sequence[tuple[int, int]],
) -> list[Finding]:
    """Add findings for values detected elsewhere in the request but missed in ``text``.

    A name NER found in one message is thereby replaced in every message, even where the
    sentence gave NER no clue.
    """
    extra: list[Finding] = []
    for item in known:
        if item.value not in text:  # substring test first: most values occur in one message only
            continue
        for match in item.pattern.finditer(text):
            start, end = match.span()
            if any(f.start < end and start < f.end for f in findings) or any(
                f.start < end and start < f.end for f in extra
            ):
                continue
            if any(s < end and start < e for s, e in protected):
                continue
            extra.append(Finding(item.entity_type, start, end, 1.0))
    return findings + extra if extra else findings


def apply_actions(
    text: str,
    findings: Sequence[Finding],
    profile: PIIProfile,
    pseudonymizer: Pseudonymizer,
    tally: ActionTally,
) -> str:
    """Replace each finding in ``text`` according to the profile; findings must not overlap."""
    parts: list[str] = []
    last = 0
    for finding in sorted(findings, key=lambda f: f.start):
        action = profile.action_for(finding.entity_type)
        value = text[finding.start : finding.end]
        tally.entities[finding.entity_type] += 1
        tally.actions[action.value] += 1
        if action is Action.ALLOW:
            continue
        if action is Action.BLOCK:
            tally.blocked.add(finding.entity_type)
            replacement = redaction_token(finding.entity_type)
        elif action is Action.PSEUDONYMIZE:
            replacement = pseudonymizer.token_for(finding.entity_type, value)
        elif action is Action.REDACT:
            replacement = redaction_token(finding.entity_type)
        else:
            replacement = mask_value(value)
        parts.append(text[last : finding.start])
        parts.append(replacement)
        last = finding.end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def is_min_length(value: str) -> bool:
    """Values shorter than this are not propagated (too likely to hit ordinary words)."""
    return len(value.strip()) >= _MIN_PROPAGATED_LENGTH
