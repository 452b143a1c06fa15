"""Scan and rewrite every text field of an OpenAI-style request body; scan or check everything else.

Which fields are rewritten: :mod:`policies.pii.body_fields`; the scan of everything else:
:mod:`policies.pii.unredactable_fields`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from policies.errors import DetectionUnavailable, PolicyError, PolicyViolation
from policies.pii.analyzer import Finding, PIIDetector
from policies.pii.body_fields import (
    CONTENT_PART_TYPES,
    MESSAGE_ROLES,
    RESPONSE_FORMAT_TYPES,
    TOOL_CHOICE_WORDS,
    TOOL_TYPES,
    CollectedBody,
    TextSlot,
    collect_chat,
    collect_completion,
)
from policies.pii.config import Action, PIIProfile
from policies.pii.offload import SHARED_OWNER, DetectionPool
from policies.pii.pseudonymize import (
    ActionTally,
    Pseudonymizer,
    apply_actions,
    is_min_length,
    known_values,
    propagate_known_values,
    restore_tokens,
    select_findings,
)
from policies.pii.unredactable_fields import (
    MAX_SCAN_CHARS,
    MIN_SCANNED_DIGITS,
    UNSCANNED_NUMBERS,
    check_scannable,
    issued_token_spans,
    refuse_personal_data_in_other_fields,
)

__all__ = [
    "CONTENT_PART_TYPES",
    "MAX_SCAN_CHARS",
    "MESSAGE_ROLES",
    "MIN_SCANNED_DIGITS",
    "RESPONSE_FORMAT_TYPES",
    "TOOL_CHOICE_WORDS",
    "TOOL_TYPES",
    "UNSCANNED_NUMBERS",
    "PseudonymMap",
    "RedactResult",
    "RedactionReport",
    "aredact_chat_body",
    "aredact_completion_body",
    "redact_chat_body",
    "redact_completion_body",
]

RedactResult = tuple[dict[str, Any], "PseudonymMap", "RedactionReport"]
T = TypeVar("T")


@dataclass
class PseudonymMap:
    """Token -> original value for one request; lives only in memory, never in logs."""

    token_to_value: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PseudonymMap(<{len(self.token_to_value)} tokens>)"

    __str__ = __repr__

    def restore(self, text: str) -> str:
        """Put the original values back in place of this request's tokens."""
        return restore_tokens(text, self.token_to_value)


@dataclass(frozen=True)
class RedactionReport:
    """What was found and done, as counts only (safe for audit records and metrics)."""

    entity_counts: Mapping[str, int]
    actions: Mapping[str, int]
    fields_scanned: int
    texts_changed: int


def redact_chat_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    *,
    models: Collection[str] | None = None,
) -> RedactResult:
    """Rewrite a /v1/chat/completions body: message text is redacted, protocol words are checked
    against their vocabularies, and every other string or long number anywhere (object keys
    included) is scanned; personal data there refuses the request.

    ``models``: the model names the caller has already validated; ``model`` must be one of them
    and is then not scanned. ``None``: ``model`` is scanned like any other string.

    Raises PolicyViolation (pii_blocked, pii_in_unredactable_field, invalid_content,
    unscannable_content, text_too_long) or DetectionUnavailable.
    """
    return _fail_closed(lambda: _redact(collect_chat(body, models), detector, profile))


def redact_completion_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    *,
    models: Collection[str] | None = None,
) -> RedactResult:
    """Rewrite a /v1/completions body (``prompt`` as str or list of str, and ``suffix``); the rest
    is checked and scanned as in :func:`redact_chat_body`."""
    return _fail_closed(lambda: _redact(collect_completion(body, models), detector, profile))


async def aredact_chat_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    pool: DetectionPool,
    *,
    models: Collection[str] | None = None,
    owner: Hashable = SHARED_OWNER,
) -> RedactResult:
    """``redact_chat_body`` in ``pool``, in ``owner``'s turn (the caller's principal id: principals
    take turns for the pool's threads); a timeout raises DetectionUnavailable and stops the
    detection at its next window."""
    work = partial(redact_chat_body, body, detector, profile, models=models)
    return await run_in_pool(work, pool, owner)


async def aredact_completion_body(
    body: Mapping[str, Any],
    detector: PIIDetector,
    profile: PIIProfile,
    pool: DetectionPool,
    *,
    models: Collection[str] | None = None,
    owner: Hashable = SHARED_OWNER,
) -> RedactResult:
    """``redact_completion_body`` in ``pool``, as :func:`aredact_chat_body`."""
    work = partial(redact_completion_body, body, detector, profile, models=models)
    return await run_in_pool(work, pool, owner)


async def run_in_pool(
    work: Callable[[], T], pool: DetectionPool, owner: Hashable, *, size: int | None = None
) -> T:
    """``work`` (detection) in ``pool``, fail closed: a policy refusal passes through, any other
    failure is DetectionUnavailable whose message names the error type only. ``size``: the
    characters it reads (a small step may run on the loop: :class:`DetectionPool`)."""
    try:
        return await pool.run(work, owner=owner, size=size)
    except (PolicyError, DetectionUnavailable):
        raise
    except Exception as exc:
        raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None


def _fail_closed(work: Callable[[], T]) -> T:
    try:
        return work()
    except PolicyError:
        raise
    except Exception as exc:
        # Nothing unscanned may go out: any failure refuses the request.
        raise DetectionUnavailable(f"PII detection failed ({type(exc).__name__})") from None


def _redact(collected: CollectedBody, detector: PIIDetector, profile: PIIProfile) -> RedactResult:
    body, slots = collected.body, collected.slots
    check_scannable(slots)
    refuse_personal_data_in_other_fields(collected, detector, profile)
    all_findings = detector.detect_many([slot.text for slot in slots])
    protected = [issued_token_spans(slot.text, detector) for slot in slots]
    selected = [
        select_findings(findings, profile, spans)
        for findings, spans in zip(all_findings, protected, strict=True)
    ]
    known = known_values(_known_values(slots, selected, profile))
    if known:
        selected = [
            select_findings(propagate_known_values(slot.text, found, known, spans), profile, spans)
            for slot, found, spans in zip(slots, selected, protected, strict=True)
        ]
    pseudonymizer = Pseudonymizer()
    tally = ActionTally()
    changed = 0
    index = 0
    while index < len(slots):
        # Tokens already in a message reserve their numbers before its new values are numbered.
        group_end = index
        while group_end < len(slots) and slots[group_end].group == slots[index].group:
            pseudonymizer.reserve_tokens_in(slots[group_end].text)
            group_end += 1
        for position in range(index, group_end):
            slot = slots[position]
            new_text = apply_actions(slot.text, selected[position], profile, pseudonymizer, tally)
            if new_text != slot.text:
                slot.container[slot.key] = new_text
                changed += 1
        index = group_end
    if tally.blocked:
        raise PolicyViolation(
            "the request contains personal data that this profile may not send",
            code="pii_blocked",
            details={"entity_types": sorted(tally.blocked)},
        )
    report = RedactionReport(
        entity_counts=MappingProxyType(dict(tally.entities)),
        actions=MappingProxyType(dict(tally.actions)),
        fields_scanned=len(slots),
        texts_changed=changed,
    )
    return body, PseudonymMap(dict(pseudonymizer.token_to_value)), report


def _known_values(
    slots: Sequence[TextSlot], selected: Sequence[list[Finding]], profile: PIIProfile
) -> dict[str, str]:
    known: dict[str, str] = {}
    for slot, findings in zip(slots, selected, strict=True):
        for finding in findings:
            if profile.action_for(finding.entity_type) is Action.ALLOW:
                continue
            value = slot.text[finding.start : finding.end]
            if is_min_length(value):
                known.setdefault(value, finding.entity_type)
    return known
