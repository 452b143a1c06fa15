"""The PII policy: actions per entity type for each role profile, plus site patterns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from policies.errors import PolicyDocumentError


class Action(StrEnum):
    """What happens to a detected value before the model sees it."""

    PSEUDONYMIZE = "pseudonymize"  # [PERSON_1], restorable from the in-memory map
    REDACT = "redact"  # [REDACTED_PERSON], no way back
    MASK = "mask"  # ************1234
    ALLOW = "allow"  # left as it is
    BLOCK = "block"  # the request is refused


# Entity types the built-in recognizers report.
BUILTIN_ENTITY_TYPES = frozenset(
    {
        "PERSON",
        "LOCATION",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "DATE_TIME",
        "CN_ID_CARD",
        "CN_PASSPORT",
        "VEHICLE_PLATE",
        "DRIVER_LICENSE",
    }
)
_ENTITY_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*[A-Z]")
_RESERVED_PREFIX = "REDACTED"


@dataclass(frozen=True)
class CustomPattern:
    """A site identifier declared in the policy (e.g. medical record numbers)."""

    name: str
    regex: str
    score: float = 0.85
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class PIIProfile:
    """Actions for one role profile; entity types not listed get ``default_action``."""

    name: str
    default_action: Action
    actions: Mapping[str, Action]
    min_score: float = 0.5

    def action_for(self, entity_type: str) -> Action:
        """The action this profile takes for ``entity_type``."""
        return self.actions.get(entity_type, self.default_action)


@dataclass(frozen=True)
class PIIPolicy:
    """All PII profiles plus the site-specific patterns every profile detects."""

    profiles: Mapping[str, PIIProfile]
    custom_patterns: tuple[CustomPattern, ...] = ()
    default_profile: str = "default"
    entity_types: frozenset[str] = field(default=BUILTIN_ENTITY_TYPES)

    def profile(self, name: str | None) -> PIIProfile:
        """The named profile, or the default profile when ``name`` is None or unknown."""
        if name is not None and name in self.profiles:
            return self.profiles[name]
        return self.profiles[self.default_profile]


_POLICY_KEYS = {"custom_patterns", "profiles", "default_profile"}
_PROFILE_KEYS = {"default_action", "actions", "min_score"}
_PATTERN_KEYS = {"name", "regex", "score", "context"}


def parse_pii_policy(doc: Mapping[str, Any], source: str) -> PIIPolicy:
    """Validate a PII policy document (the ``pii:`` section or the whole YAML document).

    Raises PolicyDocumentError naming the dotted key and the reason, never a value
    other than the offending key or action name.
    """
    if not isinstance(doc, Mapping):
        raise PolicyDocumentError(source, "pii", "must be a mapping")
    prefix = "pii"
    if "pii" in doc:
        doc = doc["pii"]
        if not isinstance(doc, Mapping):
            raise PolicyDocumentError(source, "pii", "must be a mapping")
    _reject_unknown(doc, _POLICY_KEYS, source, prefix)
    patterns = _parse_patterns(doc.get("custom_patterns", []), source, f"{prefix}.custom_patterns")
    entity_types = BUILTIN_ENTITY_TYPES | {p.name for p in patterns}
    raw_profiles = doc.get("profiles")
    if not isinstance(raw_profiles, Mapping) or not raw_profiles:
        raise PolicyDocumentError(source, f"{prefix}.profiles", "must be a non-empty mapping")
    profiles: dict[str, PIIProfile] = {}
    for name, raw in raw_profiles.items():
        key = f"{prefix}.profiles.{name}"
        if not isinstance(name, str) or not name:
            raise PolicyDocumentError(source, f"{prefix}.profiles", "profile names must be non-empty strings")
        profiles[name] = _parse_profile(name, raw, entity_types, source, key)
    default_profile = doc.get("default_profile", "default")
    if not isinstance(default_profile, str) or default_profile not in profiles:
        raise PolicyDocumentError(source, f"{prefix}.default_profile", "must name a defined profile")
    return PIIPolicy(
        profiles=MappingProxyType(profiles),
        custom_patterns=tuple(patterns),
        default_profile=default_profile,
        entity_types=frozenset(entity_types),
    )


def load_default_pii_policy() -> PIIPolicy:
    """The policy shipped in ``policies/defaults/pii.yaml``."""
    text = resources.files("policies").joinpath("defaults/pii.yaml").read_text(encoding="utf-8")
    return parse_pii_policy(yaml.safe_load(text), "policies/defaults/pii.yaml")


def _reject_unknown(raw: Mapping[str, Any], allowed: set[str], source: str, key: str) -> None:
    for name in raw:
        if name not in allowed:
            raise PolicyDocumentError(source, f"{key}.{name}", "unknown key")


def _parse_action(raw: Any, source: str, key: str) -> Action:
    try:
        return Action(raw)
    except ValueError:
        raise PolicyDocumentError(source, key, f"unknown action {str(raw)[:40]!r}") from None


def _parse_profile(name: str, raw: Any, entity_types: frozenset[str], source: str, key: str) -> PIIProfile:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(source, key, "must be a mapping")
    _reject_unknown(raw, _PROFILE_KEYS, source, key)
    default_action = _parse_action(raw.get("default_action", "pseudonymize"), source, f"{key}.default_action")
    raw_actions = raw.get("actions", {}) or {}
    if not isinstance(raw_actions, Mapping):
        raise PolicyDocumentError(source, f"{key}.actions", "must be a mapping of entity type to action")
    actions: dict[str, Action] = {}
    for entity_type, action in raw_actions.items():
        entry = f"{key}.actions.{entity_type}"
        if entity_type not in entity_types:
            raise PolicyDocumentError(source, entry, "unknown entity type")
        actions[entity_type] = _parse_action(action, source, entry)
    min_score = raw.get("min_score", 0.5)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
        raise PolicyDocumentError(source, f"{key}.min_score", "must be a number between 0 and 1")
    return PIIProfile(
        name=name,
        default_action=default_action,
        actions=MappingProxyType(actions),
        min_score=float(min_score),
    )


def _parse_patterns(raw: Any, source: str, key: str) -> list[CustomPattern]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PolicyDocumentError(source, key, "must be a list")
    patterns: list[CustomPattern] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        entry = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise PolicyDocumentError(source, entry, "must be a mapping")
        _reject_unknown(item, _PATTERN_KEYS, source, entry)
        name = item.get("name")
        if not isinstance(name, str) or not _ENTITY_NAME_RE.fullmatch(name):
            raise PolicyDocumentError(source, f"{entry}.name", "must be an UPPER_SNAKE_CASE entity type")
        if name.startswith(_RESERVED_PREFIX) or name in seen:
            raise PolicyDocumentError(source, f"{entry}.name", "reserved or duplicate entity type")
        seen.add(name)
        regex = item.get("regex")
        if not isinstance(regex, str) or not regex:
            raise PolicyDocumentError(source, f"{entry}.regex", "must be a non-empty string")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise PolicyDocumentError(
                source, f"{entry}.regex", f"invalid regular expression ({exc.msg})"
            ) from None
        if compiled.match(""):
            raise PolicyDocumentError(source, f"{entry}.regex", "must not match the empty string")
        score = item.get("score", 0.85)
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 < score <= 1:
            raise PolicyDocumentError(source, f"{entry}.score", "must be a number in (0, 1]")
        context = item.get("context", [])
        if not isinstance(context, list) or not all(isinstance(word, str) and word for word in context):
            raise PolicyDocumentError(source, f"{entry}.context", "must be a list of words")
        patterns.append(CustomPattern(name=name, regex=regex, score=float(score), context=tuple(context)))
    return patterns
