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
from typing import Any, Literal, cast

import regex

from policies.errors import PolicyDocumentError
from policies.output.injection import InjectionPolicy, parse_injection_policy
from policies.output.secrets import SECRET_PATTERNS

Action = Literal["redact", "block", "flag"]
RuleKind = Literal["secret", "phrases", "regex", "topic"]

ACTIONS: frozenset[str] = frozenset({"redact", "block", "flag"})
#: Longest match a site regex may declare or have derived; bounds the stream hold-back it causes.
MAX_USER_PATTERN_LENGTH = 256
#: Characters of already-released text kept as left context for look-behinds and ``\b``.
LEFT_CONTEXT = 64
#: A noncharacter that text never contains: appended to a pattern so that partial matching
#: reports every place a match could still extend past the end of a buffer.
NEVER_CHAR = "\U0010ffff"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_POLICY_KEYS = frozenset({"version", "secrets", "rules", "topics", "role_topics", "injection"})
_RULE_KEYS = frozenset({"id", "action", "phrases", "regex", "max_len", "ignore_case", "roles", "description"})
_TOPIC_KEYS = frozenset({"action", "keywords", "description"})
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
    """The rules in force for one set of roles, as one alternation scanned once per chunk.

    ``groups`` pairs each rule with the name of its group in ``pattern``; ``window`` is the
    longest match any rule can produce (the bound on what a rule can make the stream hold).
    """

    rules: tuple[ContentRule, ...]
    pattern: Any  # regex.Pattern[str] | None
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
    _cache: dict[tuple[str, ...], CompiledRules] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, hash=False, repr=False)


# ----------------------------------------------------------------------------- parsing


def parse_output_policy(doc: Mapping[str, Any], source: str) -> OutputPolicy:
    """Validate an output policy document (the ``output:`` section or the whole document)."""
    prefix = "output"
    if not isinstance(doc, Mapping):
        raise PolicyDocumentError(source, prefix, "must be a mapping")
    if "output" in doc:
        doc = doc["output"]
        if doc is None:
            doc = {}
        if not isinstance(doc, Mapping):
            raise PolicyDocumentError(source, prefix, "must be a mapping")
    for key in doc:
        if key not in _POLICY_KEYS:
            raise PolicyDocumentError(source, f"{prefix}.{key}", "unknown key")
    rules: list[ContentRule] = []
    rules.extend(_parse_secrets(doc.get("secrets"), source, f"{prefix}.secrets"))
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list):
        raise PolicyDocumentError(source, f"{prefix}.rules", "must be a list")
    for i, raw in enumerate(raw_rules):
        rules.append(_parse_rule(raw, source, f"{prefix}.rules.{i}"))
    topic_rules = _parse_topics(doc.get("topics"), source, f"{prefix}.topics")
    rules.extend(topic_rules)
    role_topics = _parse_role_topics(
        doc.get("role_topics"), {r.topic for r in topic_rules if r.topic}, source, f"{prefix}.role_topics"
    )
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise PolicyDocumentError(source, f"{prefix}.rules.{i}.id", "duplicate rule id")
        seen.add(rule.id)
    injection = parse_injection_policy(doc.get("injection"), source, f"{prefix}.injection")
    policy = OutputPolicy(
        rules=tuple(rules),
        role_topics=MappingProxyType(role_topics),
        injection=injection,
        topics=tuple(r.topic for r in topic_rules if r.topic),
    )
    # Fail at load time, not on the first request, if the rules cannot be combined.
    try:
        _compile(policy.rules)
    except regex.error as exc:
        raise PolicyDocumentError(
            source, f"{prefix}.rules", f"rules cannot be combined ({type(exc).__name__})"
        ) from None
    return policy


def _action(value: Any, source: str, key: str, allowed: frozenset[str] = ACTIONS) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise PolicyDocumentError(source, key, f"must be one of {', '.join(sorted(allowed))}")
    return value


def _rule_id(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise PolicyDocumentError(source, key, "must be an id of letters, digits, _ . : - (at most 64)")
    return value


def _str_list(value: Any, source: str, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise PolicyDocumentError(source, key, "must be a non-empty list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise PolicyDocumentError(source, f"{key}.{i}", "must be a non-empty string")
    return tuple(value)


def _parse_secrets(raw: Any, source: str, key: str) -> list[ContentRule]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping of secret kind to action")
    rules: list[ContentRule] = []
    for name, value in raw.items():
        spec = SECRET_PATTERNS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise PolicyDocumentError(
                source, f"{key}.{name}", f"unknown secret kind (known: {', '.join(sorted(SECRET_PATTERNS))})"
            )
        action = _action(value, source, f"{key}.{name}", ACTIONS | {"off"})
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


def _parse_roles(value: Any, source: str, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    return _str_list(value, source, key)


def _parse_rule(raw: Any, source: str, key: str) -> ContentRule:
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping")
    for name in raw:
        if name not in _RULE_KEYS:
            raise PolicyDocumentError(source, f"{key}.{name}", "unknown key")
    rule_id = _rule_id(raw.get("id"), source, f"{key}.id")
    action = cast(Action, _action(raw.get("action"), source, f"{key}.action"))
    roles = _parse_roles(raw.get("roles"), source, f"{key}.roles")
    ignore_case = raw.get("ignore_case", True if "phrases" in raw else False)
    if not isinstance(ignore_case, bool):
        raise PolicyDocumentError(source, f"{key}.ignore_case", "must be true or false")
    if ("phrases" in raw) == ("regex" in raw):
        raise PolicyDocumentError(source, key, "needs exactly one of phrases, regex")
    if "phrases" in raw:
        if "max_len" in raw:
            raise PolicyDocumentError(source, f"{key}.max_len", "only for regex rules (derived for phrases)")
        phrases = _str_list(raw["phrases"], source, f"{key}.phrases")
        pattern = phrase_pattern(phrases, ignore_case=ignore_case)
        width = _max_width(pattern)
        if width is None or width > MAX_USER_PATTERN_LENGTH:
            raise PolicyDocumentError(
                source, f"{key}.phrases", f"phrases must be shorter than {MAX_USER_PATTERN_LENGTH}"
            )
        return ContentRule(
            id=rule_id, kind="phrases", action=action, pattern=pattern, max_len=width, roles=roles
        )
    pattern = _user_regex(raw["regex"], ignore_case, source, f"{key}.regex")
    width = _max_width(pattern)
    max_len = raw.get("max_len")
    if max_len is not None:
        if (
            not isinstance(max_len, int)
            or isinstance(max_len, bool)
            or not 1 <= max_len <= MAX_USER_PATTERN_LENGTH
        ):
            raise PolicyDocumentError(
                source, f"{key}.max_len", f"must be an integer from 1 to {MAX_USER_PATTERN_LENGTH}"
            )
        width = max_len if width is None else min(width, max_len)
    elif width is None or width > MAX_USER_PATTERN_LENGTH:
        raise PolicyDocumentError(
            source,
            f"{key}.max_len",
            f"required: the regex can match more than {MAX_USER_PATTERN_LENGTH} characters "
            "(or its longest match cannot be derived)",
        )
    if width == 0:
        raise PolicyDocumentError(source, f"{key}.regex", "must not match only the empty string")
    return ContentRule(id=rule_id, kind="regex", action=action, pattern=pattern, max_len=width, roles=roles)


def _user_regex(value: Any, ignore_case: bool, source: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyDocumentError(source, key, "must be a non-empty string")
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


def _parse_topics(raw: Any, source: str, key: str) -> list[ContentRule]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping of topic to {action, keywords}")
    rules: list[ContentRule] = []
    for name, body in raw.items():
        tkey = f"{key}.{name}"
        _rule_id(name, source, tkey)
        if not isinstance(body, Mapping):
            raise PolicyDocumentError(source, tkey, "must be a mapping")
        for field_name in body:
            if field_name not in _TOPIC_KEYS:
                raise PolicyDocumentError(source, f"{tkey}.{field_name}", "unknown key")
        action = cast(Action, _action(body.get("action"), source, f"{tkey}.action"))
        keywords = _str_list(body.get("keywords"), source, f"{tkey}.keywords")
        pattern = phrase_pattern(keywords, ignore_case=True)
        width = _max_width(pattern)
        if width is None or width > MAX_USER_PATTERN_LENGTH:
            raise PolicyDocumentError(
                source, f"{tkey}.keywords", f"keywords must be shorter than {MAX_USER_PATTERN_LENGTH}"
            )
        rules.append(
            ContentRule(
                id=f"topic.{name}", kind="topic", action=action, pattern=pattern, max_len=width, topic=name
            )
        )
    return rules


def _parse_role_topics(raw: Any, topics: set[str], source: str, key: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping of role to topic list")
    result: dict[str, tuple[str, ...]] = {}
    for role, value in raw.items():
        rkey = f"{key}.{role}"
        names = _str_list(value, source, rkey, allow_empty=True)
        for i, name in enumerate(names):
            if name not in topics:
                raise PolicyDocumentError(source, f"{rkey}.{i}", "names an undefined topic")
        result[str(role)] = names
    return result


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
    compiled = regex.compile(joined) if parts else None
    pending = regex.compile(f"(?:{joined}){NEVER_CHAR}") if parts else None
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
        if len(policy._cache) > 1024:
            policy._cache.clear()
        policy._cache[key] = compiled
    return compiled
