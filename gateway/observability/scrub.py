"""The last line of defence for logs: anything shaped like personal data or a secret is replaced.

The gateway never passes request or answer text to a logger; this processor catches the mistake
when someone does (an exception message that quotes input, a library's log line, a JWT subject
that is an e-mail address). It is regular expressions only, no NER, so it is cheap enough to run
on every event: e-mail addresses, phone, card, SSN, ID and account numbers (any run of seven or
more digits, separators, zero-width characters and full-width digits included), IBANs, IPv4 and
IPv6 addresses, dates written with month names, two or more capitalised words in a row (English
names), any Chinese text, JWTs, bearer tokens, ``gw_`` API keys, passwords in URLs and
``key=value`` pairs, PEM keys and long hex or base64 strings.

A few keys are kept as they are when their value has the exact shape the gateway gives them
(request id, trace and span ids, timestamp, policy digests, API key ids); with any other shape
they are scrubbed like every other value.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final

__all__ = ["KEPT_SHAPES", "MAX_LOGGED_CHARS", "scrub_event", "scrub_text", "scrub_value"]

#: Longer strings are cut before scanning: a log value this long is almost certainly content.
MAX_LOGGED_CHARS: Final = 2048
# Integers with this many digits or more can be phone, card or account numbers.
_LONG_INT_DIGITS: Final = 9

#: Keys whose values are kept when they have exactly this shape (and scrubbed otherwise).
KEPT_SHAPES: Final[Mapping[str, re.Pattern[str]]] = {
    "request_id": re.compile(r"req_[0-9a-f]{24}"),
    "trace_id": re.compile(r"[0-9a-f]{32}"),
    "span_id": re.compile(r"[0-9a-f]{16}"),
    "timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?"),
    "digest": re.compile(r"[0-9a-f]{64}"),
    "previous_digest": re.compile(r"[0-9a-f]{64}"),
    # API key ids (hex); JWT principals ("jwt:<sub>") are scrubbed: a subject may be an e-mail.
    "principal": re.compile(r"[0-9a-f]{20}"),
    # The access log's method and matched route template (never the path as sent).
    "method": re.compile(r"[A-Z]{1,10}"),
    "route": re.compile(r"/[A-Za-z0-9_./{}:\-]{0,200}"),
}
# Integer fields that count or number things and may grow long (audit sequence numbers).
_KEPT_INT_KEYS: Final = frozenset({"seq", "first_bad_seq", "checked", "pid", "batch", "tasks"})

# Zero-width, bidi and other invisible format characters used to split values past filters.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_CJK = (
    r"\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uac00-\ud7af"
)
_DIGIT_SEP = r"[\s.\-\u2010-\u2015/()+_,]"


def _ipv4(match: re.Match[str]) -> str:
    # The gateway's own loopback and wildcard listen addresses identify no one.
    value = match.group(0)
    return value if value.startswith("127.") or value == "0.0.0.0" else "[IP]"


def _ipv6(match: re.Match[str]) -> str:
    try:
        address = ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)  # a time of day or some other colon-separated word
    return match.group(0) if address.is_loopback or address.is_unspecified else "[IP]"


def _random_looking(match: re.Match[str]) -> str:
    # Keys and tokens mix cases and digits; file paths and words do not.
    value = match.group(0)
    mixed = (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )
    return "[SECRET]" if mixed else value


_Replacement = str | Callable[[re.Match[str]], str]

# Order matters: structured secrets first (a JWT holds long base64 runs), then identifiers.
_RULES: Final[tuple[tuple[re.Pattern[str], _Replacement], ...]] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        "[SECRET]",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[JWT]"),
    (re.compile(r"(?i)\b(bearer)(\s+)\S{6,}"), r"\1\2[SECRET]"),
    (re.compile(r"(?i)\b(basic)(\s+)[A-Za-z0-9+/]{12,}={0,2}"), r"\1\2[SECRET]"),
    (re.compile(r"\bgw_[A-Za-z0-9_-]{4,}"), "[API_KEY]"),
    (re.compile(r"(?i)\b(?:sk|pk|rk|ghp|gho|ghs|xox[abp])[-_][A-Za-z0-9_-]{12,}"), "[API_KEY]"),
    (re.compile(r"\bAKIA[0-9A-Z]{12,}"), "[API_KEY]"),
    # scheme://user:password@host keeps the scheme and host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*:[^\s/@]*@"), r"\1[SECRET]@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization|cookie)"
            r"(\"?\s*[=:]\s*\"?)[^\s\"',;&]+"
        ),
        r"\1\2[SECRET]",
    ),
    (re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"), "[EMAIL]"),
    (re.compile(r"(?i)\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}\b"), "[IBAN]"),
    # Chinese text (names, addresses) with the digits and Latin letters glued to it (dates, plates).
    (re.compile(rf"[0-9A-Za-z]*(?:[{_CJK}]+[0-9A-Za-z]*)+"), "[CJK]"),
    (re.compile(rf"(?i)\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}\b"), "[DATE]"),
    (re.compile(rf"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{2,4}}\b"), "[DATE]"),
    (re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"), _ipv6),
    (re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"), _ipv4),
    # Long hex and base64 strings (keys, tokens, hashes) before digit runs eat parts of them.
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[SECRET]"),
    (re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}"), _random_looking),
    # Seven or more digits however they are grouped, with a glued prefix (MRN-, E for passports).
    (re.compile(rf"(?:\b[A-Z]{{1,4}}[-#]?)?\d(?:{_DIGIT_SEP}{{0,3}}\d){{6,}}[0-9A-Za-z]?"), "[NUMBER]"),
    # English names: titles before a surname, and two or more capitalised words in a row.
    (re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sir|Dame)\.?\s+[A-Z][A-Za-z'-]+"), "[NAME]"),
    (re.compile(r"\b[A-Z][A-Za-z'-]*[a-z](?:[ \t]+(?:[A-Z]\.?[ \t]+)?[A-Z][A-Za-z'-]*[a-z])+\b"), "[NAME]"),
)
# Strings that cannot hold anything above skip the rules (most log values: event names, codes).
# ":" is not plain, so that "password:hunter" is scrubbed.
_PLAIN = re.compile(r"[a-z_.\-]*")


def scrub_text(text: str) -> str:
    """``text`` with everything shaped like personal data or a secret replaced by a marker."""
    if _PLAIN.fullmatch(text):
        return text
    if len(text) > MAX_LOGGED_CHARS:
        text = text[:MAX_LOGGED_CHARS] + "...[truncated]"
    if not text.isascii():
        # Full-width digits and letters become ASCII; invisible characters inside numbers go.
        text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """A scrubbed copy of one event value: strings scanned, containers walked, other objects as
    their scrubbed text. Integers long enough to be phone or card numbers are replaced."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        if key not in _KEPT_INT_KEYS and len(str(abs(value))) >= _LONG_INT_DIGITS:
            return "[NUMBER]"
        return value
    if isinstance(value, str):
        shape = KEPT_SHAPES.get(key) if key is not None else None
        if shape is not None and shape.fullmatch(value):
            return value
        return scrub_text(value)
    if _depth >= 8:
        return "[NESTED]"
    if isinstance(value, Mapping):
        return {scrub_text(str(k)): scrub_value(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(item, key, _depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return scrub_text(bytes(value[:MAX_LOGGED_CHARS]).decode("utf-8", "replace"))
    return scrub_text(str(value))


# structlog's ProcessorFormatter bookkeeping (the LogRecord itself); removed before rendering.
_FORMATTER_META: Final = frozenset({"_record", "_from_structlog"})


def scrub_event(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every key and value of the event scrubbed (run it last, before rendering)."""
    return {
        k if k in _FORMATTER_META else scrub_text(str(k)): v
        if k in _FORMATTER_META
        else scrub_value(v, str(k))
        for k, v in event.items()
    }
