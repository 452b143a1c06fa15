"""Turning findings into tokens, masks or refusals, with prefix-stable numbering."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from policies.pii.analyzer import Finding
from policies.pii.config import Action, PIIProfile
from policies.pii.normalize import canonical_value, normalize

#: Pseudonym ordinals have at most this many digits ([PERSON_1] .. [PERSON_9999]): too few to hold
#: an identifier, so a bracketed type and number can never carry a card or SSN past the scanner.
ORDINAL_DIGITS = 4
REDACTED_PREFIX = "REDACTED_"
_MIN_PROPAGATED_LENGTH = 2
# Anything shaped like a pseudonym, known type or not: numbers it names are not handed out again
# (a site type's token from an earlier turn, an ordinal past ORDINAL_DIGITS). Never protects text.
_TOKEN_SHAPE_RE = re.compile(r"\[(?P<type>[A-Z][A-Z0-9_]*?)_(?P<number>[1-9]\d{0,8})\]")


@functools.lru_cache(maxsize=64)
def _token_pattern(entity_types: frozenset[str]) -> re.Pattern[str]:
    if not entity_types:
        return re.compile(r"(?!)")
    # Longest first, so that a type is never cut short by another that is its prefix.
    names = "|".join(re.escape(t) for t in sorted(entity_types, key=lambda t: (-len(t), t)))
    return re.compile(rf"\[(?P<type>{names})_(?P<number>[1-9]\d{{0,{ORDINAL_DIGITS - 1}}})\]")


def token_pattern(entity_types: Iterable[str]) -> re.Pattern[str]:
    """The pseudonyms the gateway issues for ``entity_types``, exactly: ``[TYPE_n]`` with a known
    type and an ordinal from 1 to 9999. Anything else in brackets (``[CC_4111111111111111]``,
    ``[PERSON_Maria Gonzalez]``, ``[REDACTED:...]``) is text and must be scanned like text.

    Groups: ``type`` and ``number``."""
    return _token_pattern(frozenset(entity_types))


def restore_tokens(text: str, token_to_value: Mapping[str, str]) -> str:
    """``text`` with exactly the tokens of ``token_to_value`` replaced by their values; any other
    token shape stays as it is."""
    if not token_to_value or "[" not in text:
        return text
    return _TOKEN_SHAPE_RE.sub(lambda m: token_to_value.get(m.group(0), m.group(0)), text)


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
        """Mark the numbers of token-shaped text already in ``text`` as taken, so that no new value
        gets a token the conversation already uses; return their spans. (Which spans are
        protected from detection is :func:`token_pattern`'s business, not this.)"""
        spans: list[tuple[int, int]] = []
        for match in _TOKEN_SHAPE_RE.finditer(text):
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

    def occurrences(self, text: str) -> Iterator[tuple[int, int]]:
        """Spans of ``value`` in ``text`` as a whole word, left to right, not overlapping: an ASCII
        letter or digit at the value's edge must not continue into a longer word (``(?<!\\w)`` and
        ``(?!\\w)`` of a regex). Found with ``str.find``: compiling a pattern per value cost more
        than the rest of the look-up, since every value is at least in its own message."""
        value = self.value
        check_left = value[0].isascii() and value[0].isalnum()
        check_right = value[-1].isascii() and value[-1].isalnum()
        size = len(value)
        start = text.find(value)
        while start != -1:
            end = start + size
            if (check_left and start > 0 and _is_word_char(text[start - 1])) or (
                check_right and end < len(text) and _is_word_char(text[end])
            ):
                start = text.find(value, start + 1)
                continue
            yield start, end
            start = text.find(value, end)


def _is_word_char(char: str) -> bool:
    """``\\w`` of Python's ``re`` on text: a letter, a digit of any script, or the underscore."""
    return char.isalnum() or char == "_"


def known_values(values: dict[str, str]) -> list[KnownValue]:
    """Search patterns for ``values`` (exact value -> entity type), longest value first."""
    return [KnownValue(value, values[value]) for value in sorted(values, key=len, reverse=True)]


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
        for start, end in item.occurrences(text):
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
