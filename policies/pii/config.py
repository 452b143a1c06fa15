"""The PII policy: actions per entity type for each role profile, plus site patterns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any

import msgspec
import yaml

from policies.documents import Document, decode_document
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
        "BANK_ACCOUNT",
        "PASSPORT",
        "MEDICAL_RECORD_NUMBER",
        "INSURANCE_ID",
        "NATIONAL_ID",
        "VEHICLE_ID",
        "PERSONAL_ID",
        "DEVICE_ID",
    }
)
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


# --------------------------------------------------------------------------- the document

_Score = Annotated[float, msgspec.Meta(ge=0, le=1)]


class CustomPatternDocument(Document, frozen=True, kw_only=True):
    """A site identifier in pii.yaml: an UPPER_SNAKE_CASE entity type and its regex."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]*[A-Z]$")]
    regex: Annotated[str, msgspec.Meta(min_length=1)]
    score: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.85
    context: tuple[Annotated[str, msgspec.Meta(min_length=1)], ...] = ()


class PIIProfileDocument(Document, frozen=True, kw_only=True):
    """One profile in pii.yaml; ``actions`` maps entity types to actions."""

    default_action: Action = Action.PSEUDONYMIZE
    # None: a profile whose action lines are all commented out.
    actions: dict[str, Action] | None = None
    min_score: _Score = 0.5


class PIISection(Document, frozen=True, kw_only=True):
    """The body of pii.yaml's ``pii:`` section."""

    profiles: Annotated[
        dict[Annotated[str, msgspec.Meta(min_length=1)], PIIProfileDocument | None],
        msgspec.Meta(min_length=1),
    ]
    custom_patterns: tuple[CustomPatternDocument, ...] | None = None
    default_profile: str = "default"


class PIIDocument(Document, frozen=True, kw_only=True):
    """The whole pii.yaml document."""

    pii: PIISection


def parse_pii_policy(doc: Mapping[str, Any], source: str) -> PIIPolicy:
    """Validate a PII policy document (the ``pii:`` section or the whole YAML document).

    Raises PolicyDocumentError naming the dotted key and the reason, never a value
    other than the offending key or action name.
    """
    if isinstance(doc, Mapping) and "pii" in doc:
        section = decode_document(doc, PIIDocument, source).pii
    else:
        section = decode_document(doc, PIISection, source, "pii")
    patterns = _custom_patterns(section.custom_patterns or (), source)
    entity_types = BUILTIN_ENTITY_TYPES | {p.name for p in patterns}
    profiles: dict[str, PIIProfile] = {}
    for name, body in section.profiles.items():
        body = body or PIIProfileDocument()
        for entity_type in body.actions or {}:
            if entity_type not in entity_types:
                raise PolicyDocumentError(
                    source, f"pii.profiles.{name}.actions.{entity_type}", "unknown entity type"
                )
        profiles[name] = PIIProfile(
            name=name,
            default_action=body.default_action,
            actions=MappingProxyType(dict(body.actions or {})),
            min_score=body.min_score,
        )
    if section.default_profile not in profiles:
        raise PolicyDocumentError(source, "pii.default_profile", "must name a defined profile")
    return PIIPolicy(
        profiles=MappingProxyType(profiles),
        custom_patterns=patterns,
        default_profile=section.default_profile,
        entity_types=frozenset(entity_types),
    )


def _custom_patterns(docs: tuple[CustomPatternDocument, ...], source: str) -> tuple[CustomPattern, ...]:
    seen: set[str] = set()
    for index, item in enumerate(docs):
        key = f"pii.custom_patterns[{index}]"
        if item.name.startswith(_RESERVED_PREFIX) or item.name in seen:
            raise PolicyDocumentError(source, f"{key}.name", "reserved or duplicate entity type")
        seen.add(item.name)
        try:
            compiled = re.compile(item.regex)
        except re.error as exc:
            # The position only: the error's message can quote a piece of the pattern.
            raise PolicyDocumentError(
                source, f"{key}.regex", f"invalid regular expression (at position {exc.pos})"
            ) from None
        if compiled.match(""):
            raise PolicyDocumentError(source, f"{key}.regex", "must not match the empty string")
    return tuple(CustomPattern(name=p.name, regex=p.regex, score=p.score, context=p.context) for p in docs)


def load_default_pii_policy() -> PIIPolicy:
    """The policy shipped in ``policies/defaults/pii.yaml``."""
    text = resources.files("policies").joinpath("defaults/pii.yaml").read_text(encoding="utf-8")
    return parse_pii_policy(yaml.safe_load(text), "policies/defaults/pii.yaml")
