"""Everything in a request body outside its rewritable text fields (stop words, regexes, schemas,
template kwargs, ids, unknown extras, object keys, long numbers): scanned, and personal data
there refuses the request, since rewriting it would change what it does."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from policies.errors import PolicyViolation
from policies.pii.analyzer import PIIDetector
from policies.pii.body_fields import CollectedBody, TextSlot, invalid_content
from policies.pii.config import PIIProfile
from policies.pii.pseudonymize import (
    select_findings,
    token_pattern,
)

#: Numbers whose integer part has at least this many digits are scanned as text (card, phone,
#: ID numbers); shorter ones (temperature 0.7, max_tokens 512, top_k 20) cannot hold them.
MIN_SCANNED_DIGITS = 6
#: Top-level numeric parameters that are random by nature and forwarded unscanned: a random
#: 10-digit seed looks like a phone number to the recognizers one time in four.
UNSCANNED_NUMBERS = frozenset({"seed"})

#: spaCy refuses longer texts; a field this long is refused rather than forwarded unscanned.
MAX_SCAN_CHARS = 500_000
#: Field paths named in a refusal; the rest are counted.
_MAX_NAMED_FIELDS = 5
# Keys shown in field paths; others (spaces, "@", long digit runs: they may be the data) are "*".
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def check_scannable(slots: Sequence[TextSlot]) -> None:
    for slot in slots:
        if len(slot.text) > MAX_SCAN_CHARS:
            raise PolicyViolation(
                f"a text field is longer than {MAX_SCAN_CHARS} characters and cannot be scanned",
                code="text_too_long",
            )
        try:
            slot.text.encode("utf-8")
        except UnicodeEncodeError:
            raise PolicyViolation("a text field is not valid Unicode", code="invalid_content") from None


def _path_key(key: str) -> str:
    plain = _PLAIN_KEY.fullmatch(key) and sum(c.isdigit() for c in key) <= 3
    return key if plain else "*"


def _number_text(value: int | float, where: str) -> str | None:
    """The decimal digits of a number's integer part, when there are enough to be an identifier.

    Fractions are not scanned: a random float's 16 fraction digits pass the card checksum one
    time in ten, and nobody writes an identifier after a decimal point by mistake.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    try:
        digits = str(abs(value))
    except ValueError:  # beyond Python's int-to-text limit
        raise invalid_content(where) from None
    return digits if len(digits) >= MIN_SCANNED_DIGITS else None


def _unslotted_values(collected: CollectedBody) -> list[tuple[str, str]]:
    """(field path, text) of every string, long number and object key the body holds outside the
    rewritten text fields and the checked protocol words."""
    skip = {(id(slot.container), slot.key) for slot in collected.slots} | collected.words
    out: list[tuple[str, str]] = []
    body = collected.body
    out.extend(("<key>", key) for key in body if isinstance(key, str))
    for key, item in body.items():
        if key in UNSCANNED_NUMBERS and isinstance(item, int) and not isinstance(item, bool):
            continue
        _walk(body, key, item, "", skip, out)
    return out


#: Keys up to this long are put before their value as its context.
_MAX_LABEL = 64


def _walk(
    container: Any, key: Any, item: Any, path: str, skip: set[tuple[int, Any]], out: list[tuple[str, str]]
) -> None:
    if isinstance(container, list):
        where = f"{path}[{key}]"
    else:
        name = _path_key(str(key))
        where = f"{path}.{name}" if path else name
    if (id(container), key) in skip:
        return
    # A value is scanned after its key, which is its context: {"ssn": 536221234} is an SSN, the
    # bare digits are not. These texts only decide a refusal; nothing is rewritten in them.
    label = f"{key}: " if isinstance(key, str) and len(key) <= _MAX_LABEL else ""
    if isinstance(item, str):
        out.append((where, label + item if label and item.strip() else item))
    elif isinstance(item, bool) or item is None:
        return
    elif isinstance(item, int | float):
        text = _number_text(item, where)
        if text is not None:
            out.append((where, label + text))
    elif isinstance(item, Mapping):
        # Keys (JSON-schema property names, template kwargs...) reach the model too.
        out.extend((f"{where}.<key>", k) for k in item if isinstance(k, str))
        for inner_key, inner in item.items():
            _walk(item, inner_key, inner, where, skip, out)
    elif isinstance(item, list):
        for index, inner in enumerate(item):
            _walk(item, index, inner, where, skip, out)
    else:
        raise invalid_content(where)  # not JSON: nothing else can be checked


def refuse_personal_data_in_other_fields(
    collected: CollectedBody, detector: PIIDetector, profile: PIIProfile
) -> None:
    """Strings, object keys and long numbers outside the rewritten text fields (stop words,
    regexes, schemas, template kwargs, ids, unknown extras) cannot be rewritten without changing
    what they do: personal data there refuses the request instead (400, field paths only)."""
    others = [(where, text) for where, text in _unslotted_values(collected) if text.strip()]
    if not others:
        return
    if any(len(text) > MAX_SCAN_CHARS for _, text in others):
        raise PolicyViolation("a field is too long to be scanned", code="text_too_long")
    unique = list(dict.fromkeys(text for _, text in others))
    found = dict(zip(unique, detector.detect_many(unique), strict=True))
    fields = sorted(
        {
            where
            for where, text in others
            if any(
                profile.action_for(f.entity_type) != "allow"
                for f in select_findings(found[text], profile, issued_token_spans(text, detector))
            )
        }
    )
    if fields:
        named = ", ".join(fields[:_MAX_NAMED_FIELDS])
        more = f" and {len(fields) - _MAX_NAMED_FIELDS} more" if len(fields) > _MAX_NAMED_FIELDS else ""
        raise PolicyViolation(
            f"personal data in a field that cannot be redacted: {named}{more}",
            code="pii_in_unredactable_field",
            details={"fields": fields},
        )


def issued_token_spans(text: str, detector: PIIDetector) -> list[tuple[int, int]]:
    """Where the pseudonyms the gateway issues are (a known entity type, an ordinal up to 9999):
    the only bracketed text not scanned. ``[CC_4111...]`` or ``[PERSON_Maria Gonzalez]`` is text."""
    if "[" not in text:
        return []
    return [(m.start(), m.end()) for m in token_pattern(detector.entity_types).finditer(text)]
