"""The output policy document (``output.yaml``) and its per-role compiled form.

Document shape (the ``output:`` section or the section's body)::

    secrets:            built-in secret kind -> redact | block | flag | off
    rules:              list of {id, action, phrases | regex, max_len?, ignore_case?, roles?}
    topics:             topic -> {action, keywords}
    role_topics:        role -> [topic, ...]   (banned topics apply only to the roles listed)
    injection:          see :mod:`policies.output.injection`

Every problem raises :class:`PolicyDocumentError` with the dotted key path, never a value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, Literal, cast, get_args

import msgspec
import regex
from cachetools import LRUCache

from policies.documents import Document, NonBlankStr, RuleId, decode_document
from policies.errors import PolicyDocumentError
from policies.output.injection import InjectionDocument, InjectionPolicy, parse_injection_policy
from policies.output.multipattern import split_rules
from policies.output.secrets import SECRET_PATTERNS

Action = Literal["redact", "block", "flag"]
RuleKind = Literal["secret", "phrases", "regex", "topic"]

ACTIONS: frozenset[str] = frozenset(get_args(Action))
#: Longest match a site regex may declare or have derived; bounds the stream hold-back it causes.
MAX_USER_PATTERN_LENGTH = 256
#: Characters of already-released text kept as left context for look-behinds and ``\b``.
LEFT_CONTEXT = 64
#: A noncharacter that text never contains: appended to a pattern so that partial matching
#: reports every place a match could still extend past the end of a buffer.
NEVER_CHAR = "\U0010ffff"

#: Distinct role sets whose compiled rules a policy keeps (least recently used go first).
COMPILED_CACHE_SIZE = 1024
_GLOBAL_FLAGS = regex.IGNORECASE | regex.MULTILINE | regex.DOTALL | regex.VERBOSE | regex.ASCII
_BACKREF_RE = re.compile(r"\\[1-9]|\(\?P=|\\g<")
_NAMED_GROUP_RE = re.compile(r"\(\?P?<[A-Za-z_]")
_MAX_PHRASE_SPACE = 4


@dataclass(frozen=True)
class ContentRule:
    """One compiled-ready rule. ``pattern`` is ``regex`` syntax; ``group`` names the redacted part."""

    id: str
    kind: RuleKind
    action: Action
    pattern: str
    max_len: int
    roles: tuple[str, ...] | None = None
    group: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class CompiledRules:
    """The rules in force for one set of roles, scanned as one alternation once per chunk.

    ``groups`` pairs each rule with the name of its group in the alternation; ``window`` is the
    longest match any rule can produce (the bound on what a rule can make the stream hold).
    ``pattern`` and ``pending`` are the alternation's scanners: rule by rule
    (:mod:`policies.output.multipattern`) where that gives the same matches, else one ``regex``.
    """

    rules: tuple[ContentRule, ...]
    pattern: Any  # RuleAlternation | regex.Pattern[str] | None
    pending: Any  # the same followed by NEVER_CHAR, for partial matching at the end of a buffer
    groups: tuple[tuple[str, ContentRule], ...]
    redact_groups: Mapping[str, str]
    window: int


@dataclass(frozen=True)
class OutputPolicy:
    """The validated output policy. Build with :func:`parse_output_policy`."""

    rules: tuple[ContentRule, ...]
    role_topics: Mapping[str, tuple[str, ...]]
    injection: InjectionPolicy
    topics: tuple[str, ...] = ()
    _cache: LRUCache[tuple[str, ...], CompiledRules] = field(
        default_factory=lambda: LRUCache(maxsize=COMPILED_CACHE_SIZE), compare=False, hash=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, hash=False, repr=False)


# ----------------------------------------------------------------------------- the document


class RuleDocument(Document, frozen=True, kw_only=True):
    """One site rule in output.yaml's ``rules``: exactly one of ``phrases`` or ``regex``."""

    id: RuleId
    action: Action
    phrases: Annotated[tuple[NonBlankStr, ...], msgspec.Meta(min_length=1)] | None = None
    regex: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    max_len: Annotated[int, msgspec.Meta(ge=1, le=MAX_USER_PATTERN_LENGTH)] | None = None
    # None: true for phrases, false for regexes.
    ignore_case: bool | None = None
    roles: Annotated[tuple[NonBlankStr, ...], msgspec.Meta(min_length=1)] | None = None
    description: str = ""


class TopicDocument(Document, frozen=True, kw_only=True):
    """One banned topic in output.yaml's ``topics``."""

    action: Action
    keywords: Annotated[tuple[NonBlankStr, ...], msgspec.Meta(min_length=1)]
    description: str = ""


class OutputSection(Document, frozen=True, kw_only=True):
    """The body of output.yaml's ``output:`` section (``None`` fields: written but left empty)."""

    version: Literal[1] = 1
    secrets: dict[str, Literal["redact", "block", "flag", "off"]] | None = None
    rules: tuple[RuleDocument, ...] | None = None
    topics: dict[RuleId, TopicDocument] | None = None
    role_topics: dict[str, tuple[NonBlankStr, ...]] | None = None
    injection: InjectionDocument | None = None


class OutputDocument(Document, frozen=True, kw_only=True):
    """The whole output.yaml document."""

    output: OutputSection | None = None


def parse_output_policy(doc: Mapping[str, Any], source: str) -> OutputPolicy:
    """Validate an output policy document (the ``output:`` section or the whole document)."""
    prefix = "output"
    if isinstance(doc, Mapping) and "output" in doc:
        section = decode_document(doc, OutputDocument, source).output or OutputSection()
    else:
        section = decode_document(doc, OutputSection, source, prefix)
    secret_rules = _secret_rules(section.secrets or {}, source, f"{prefix}.secrets")
    topic_rules = [
        _topic_rule(name, body, source, f"{prefix}.topics.{name}")
        for name, body in (section.topics or {}).items()
    ]
    # Site rule ids must not repeat, nor take a built-in id (audit records name rules by id).
    seen = {r.id for r in (*secret_rules, *topic_rules)}
    site_rules: list[ContentRule] = []
    for i, raw in enumerate(section.rules or ()):
        if raw.id in seen:
            raise PolicyDocumentError(source, f"{prefix}.rules[{i}].id", "duplicate rule id")
        seen.add(raw.id)
        site_rules.append(_content_rule(raw, source, f"{prefix}.rules[{i}]"))
    rules = [*secret_rules, *site_rules, *topic_rules]
    topics = tuple(name for name in section.topics or {})
    for role, names in (section.role_topics or {}).items():
        for i, name in enumerate(names):
            if name not in topics:
                raise PolicyDocumentError(
                    source, f"{prefix}.role_topics.{role}[{i}]", "names an undefined topic"
                )
    policy = OutputPolicy(
        rules=tuple(rules),
        role_topics=MappingProxyType(dict(section.role_topics or {})),
        injection=parse_injection_policy(section.injection, source, f"{prefix}.injection"),
        topics=topics,
    )
    # Fail at load time, not on the first request, if the rules cannot be combined.
    try:
        _compile(policy.rules)
    except regex.error as exc:
        raise PolicyDocumentError(
            source, f"{prefix}.rules", f"rules cannot be combined ({type(exc).__name__})"
        ) from None
    return policy


def _secret_rules(secrets: Mapping[str, str], source: str, key: str) -> list[ContentRule]:
    rules: list[ContentRule] = []
    for name, action in secrets.items():
        spec = SECRET_PATTERNS.get(name)
        if spec is None:
            raise PolicyDocumentError(
                source, f"{key}.{name}", f"unknown secret kind (known: {', '.join(sorted(SECRET_PATTERNS))})"
            )
        if action == "off":
            continue
        width = _max_width(spec.pattern)
        assert width is not None, name  # built-ins are bounded by construction
        rules.append(
            ContentRule(
                id=f"secret.{name}",
                kind="secret",
                action=cast(Action, action),
                pattern=spec.pattern,
                max_len=width,
                group=spec.group,
            )
        )
    return rules


def _content_rule(raw: RuleDocument, source: str, key: str) -> ContentRule:
    if (raw.phrases is None) == (raw.regex is None):
        raise PolicyDocumentError(source, key, "needs exactly one of phrases, regex")
    if raw.phrases is not None:
        if raw.max_len is not None:
            raise PolicyDocumentError(source, f"{key}.max_len", "only for regex rules (derived for phrases)")
        ignore_case = True if raw.ignore_case is None else raw.ignore_case
        pattern = phrase_pattern(raw.phrases, ignore_case=ignore_case)
        width = _max_width(pattern)
        if width is None or width > MAX_USER_PATTERN_LENGTH:
            raise PolicyDocumentError(
                source, f"{key}.phrases", f"phrases must be shorter than {MAX_USER_PATTERN_LENGTH}"
            )
        return ContentRule(
            id=raw.id, kind="phrases", action=raw.action, pattern=pattern, max_len=width, roles=raw.roles
        )
    assert raw.regex is not None
    pattern = _user_regex(raw.regex, bool(raw.ignore_case), source, f"{key}.regex")
    width = _max_width(pattern)
    if raw.max_len is not None:
        width = raw.max_len if width is None else min(width, raw.max_len)
    elif width is None or width > MAX_USER_PATTERN_LENGTH:
        raise PolicyDocumentError(
            source,
            f"{key}.max_len",
            f"required: the regex can match more than {MAX_USER_PATTERN_LENGTH} characters "
            "(or its longest match cannot be derived)",
        )
    if width == 0:
        raise PolicyDocumentError(source, f"{key}.regex", "must not match only the empty string")
    return ContentRule(
        id=raw.id, kind="regex", action=raw.action, pattern=pattern, max_len=width, roles=raw.roles
    )


def _user_regex(value: str, ignore_case: bool, source: str, key: str) -> str:
    if _BACKREF_RE.search(value) or _NAMED_GROUP_RE.search(value):
        raise PolicyDocumentError(source, key, "named groups and backreferences are not supported")
    try:
        compiled = regex.compile(value)
    except regex.error:
        raise PolicyDocumentError(source, key, "is not a valid regular expression") from None
    if compiled.flags & _GLOBAL_FLAGS & ~regex.compile("").flags:
        raise PolicyDocumentError(source, key, "inline global flags are not supported; use ignore_case")
    if compiled.search("") is not None:
        raise PolicyDocumentError(source, key, "must not match the empty string")
    return f"(?i:{value})" if ignore_case else f"(?:{value})"


def _topic_rule(name: str, body: TopicDocument, source: str, key: str) -> ContentRule:
    pattern = phrase_pattern(body.keywords, ignore_case=True)
    width = _max_width(pattern)
    if width is None or width > MAX_USER_PATTERN_LENGTH:
        raise PolicyDocumentError(
            source, f"{key}.keywords", f"keywords must be shorter than {MAX_USER_PATTERN_LENGTH}"
        )
    return ContentRule(
        id=f"topic.{name}", kind="topic", action=body.action, pattern=pattern, max_len=width, topic=name
    )


# ----------------------------------------------------------------------------- patterns


def _needs_boundary(ch: str) -> bool:
    # Whole-word matching only makes sense for scripts that separate words by spaces; a CJK
    # phrase inside running Chinese text has word characters on both sides.
    return (ch.isalnum() or ch == "_") and ord(ch) < 0x2E80


def phrase_pattern(phrases: Sequence[str], *, ignore_case: bool) -> str:
    """A pattern for whole-word phrases: any whitespace run between words, longest phrase first."""
    alternatives = []
    for phrase in sorted({p.strip() for p in phrases}, key=len, reverse=True):
        words = phrase.split()
        body = rf"\s{{1,{_MAX_PHRASE_SPACE}}}".join(regex.escape(w) for w in words)
        left = r"(?<!\w)" if _needs_boundary(phrase[0]) else ""
        right = r"(?!\w)" if _needs_boundary(phrase[-1]) else ""
        alternatives.append(f"{left}{body}{right}")
    joined = "|".join(alternatives)
    return f"(?i:{joined})" if ignore_case else f"(?:{joined})"


def _max_width(pattern: str) -> int | None:
    """Upper bound on a match's length from the pattern's syntax; ``None`` if unbounded or unknown."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        hi = int(_parser.parse(pattern).getwidth()[1])
    except Exception:  # regex-only syntax (\p{Han}, possessive...) the stdlib parser rejects
        return None
    return hi if hi < 1 << 30 else None


# ----------------------------------------------------------------------------- compiling


def _compile(rules: Sequence[ContentRule]) -> CompiledRules:
    groups: list[tuple[str, ContentRule]] = []
    redact_groups: dict[str, str] = {}
    parts: list[str] = []
    for i, rule in enumerate(rules):
        name = f"r{i}"
        pattern = rule.pattern
        if rule.group is not None:
            inner = f"{name}_{rule.group}"
            pattern = pattern.replace(f"(?P<{rule.group}>", f"(?P<{inner}>")
            redact_groups[name] = inner
        groups.append((name, rule))
        parts.append(f"(?P<{name}>{pattern})")
    joined = "|".join(parts)
    compiled: Any = None
    pending: Any = None
    split = split_rules(parts, NEVER_CHAR)
    if split is not None:
        compiled, pending = split  # rule by rule: about 12x faster than one alternation
    elif parts:
        compiled = regex.compile(joined)
        pending = regex.compile(f"(?:{joined}){NEVER_CHAR}")
    window = max((r.max_len for r in rules), default=0)
    return CompiledRules(
        rules=tuple(rules),
        pattern=compiled,
        pending=pending,
        groups=tuple(groups),
        redact_groups=MappingProxyType(redact_groups),
        window=window,
    )


# Rules that must win when two could match at the same place come first in the alternation.
_ORDER = {"block": 0, "redact": 1, "flag": 2}


def compile_rules_for_role(policy: OutputPolicy, role_names: Sequence[str]) -> CompiledRules:
    """The rules that apply to a caller with ``role_names`` (union over the roles), compiled once
    per distinct role set and cached on the policy. The result is immutable and shareable."""
    key = tuple(sorted(set(role_names)))
    with policy._lock:  # an LRU read reorders the cache, so reads take the lock too
        cached = policy._cache.get(key)
    if cached is not None:
        return cached
    topics = {t for role in key for t in policy.role_topics.get(role, ())}
    selected = [
        r
        for r in policy.rules
        if (r.kind == "topic" and r.topic in topics)
        or (r.kind != "topic" and (r.roles is None or any(role in r.roles for role in key)))
    ]
    selected.sort(key=lambda r: _ORDER[r.action])
    compiled = _compile(selected)
    with policy._lock:
        # Two threads may have compiled the same set; both get the one cached first.
        return policy._cache.setdefault(key, compiled)
