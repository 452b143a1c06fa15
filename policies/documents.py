"""Decoding policy documents into typed, frozen msgspec structs, with errors that name the field.

Each document (roles.yaml, pii.yaml, output.yaml) declares its shape as ``msgspec.Struct``
classes next to the policy it builds. :func:`decode_document` converts the YAML-decoded (and
overlaid) mapping in one pass and turns msgspec's ``ValidationError`` into a
:class:`PolicyDocumentError` whose key is the dotted, indexed path of the bad field
(``roles.admin.permissions[2]``) and whose reason never repeats the bad value: documents can
hold secrets and regexes written from real data. Names of keys are not values and may appear.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec

from policies.errors import PolicyDocumentError

T = TypeVar("T")

#: An integer of at least 1 (limits, lengths).
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
#: A string with at least one character that is not whitespace.
NonBlankStr = Annotated[str, msgspec.Meta(pattern=r"\S")]
#: Ids of rules, topics and indicators, as the audit log records them.
RuleId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every document struct: immutable, unknown fields refused, fields by name."""


# `.name`, `[3]` or `[...]` (a mapping's value; msgspec does not say which key).
_PATH_TOKEN = re.compile(r"\.([^.\[`]+)|\[(\d+)\]|\[\.\.\.\]")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]*)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]*)`$")
_MAX_KEY_LEN = 80
_NON_BLANK_REASON = r"Expected `str` matching regex '\\S'"


def decode_document(doc: object, schema: type[T], source: str, prefix: str = "") -> T:
    """Convert ``doc`` to ``schema`` (strictly: no string-to-number coercion).

    Raises :class:`PolicyDocumentError` (``source``, ``prefix`` + the field's path, reason).
    """
    try:
        return msgspec.convert(doc, schema, strict=True)
    except msgspec.ValidationError as exc:
        key, reason = describe_validation_error(exc, doc, schema, strict=True)
        raise PolicyDocumentError(source, join_key(prefix, key), reason) from None


def join_key(prefix: str, key: str) -> str:
    """``prefix`` and a relative key as one dotted key (``[i]`` attaches without a dot)."""
    if not prefix:
        return key or "<document>"
    if not key or key == "<document>":
        return prefix
    return prefix + key if key.startswith("[") else f"{prefix}.{key}"


def describe_validation_error(
    exc: msgspec.ValidationError, doc: object, schema: object, *, strict: bool
) -> tuple[str, str]:
    """The dotted key of the field ``exc`` is about and a reason that holds no input value.

    ``doc`` and ``schema`` are what was converted; they resolve the mapping keys msgspec leaves
    out of its paths. ``strict`` must match the conversion that failed.
    """
    message = str(exc)
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        reason, where = message, "$`"
    where = where.rstrip("`")
    is_key = where.startswith("key` in `")
    if is_key:
        where = where[len("key` in `") :]
    parts: list[str] = []
    value: Any = doc
    typ: Any = schema
    for match in _PATH_TOKEN.finditer(where.removeprefix("$")):
        name, index = match.group(1), match.group(2)
        typ = _concrete(typ, value)
        if name is not None:
            parts.append(name)
            value = value.get(name) if isinstance(value, Mapping) else None
            typ = _field_type(typ, name)
        elif index is not None:
            parts.append(f"[{index}]")
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
            typ = _item_type(typ)
        else:
            _, typ = _mapping_types(typ)
            bad = _first_failing(value, typ, strict, values=True)
            parts.append(_key_name(bad))
            value = value.get(bad) if isinstance(value, Mapping) else None
    typ = _concrete(typ, value)
    if is_key:
        key_type, _ = _mapping_types(typ)
        parts.append(_key_name(_first_failing(value, key_type, strict, values=False)))
        return _render(parts), f"invalid key: {_clean_reason(reason, key_type)}"
    if found := _UNKNOWN_FIELD.match(reason):
        parts.append(found.group(1)[:_MAX_KEY_LEN])
        allowed = _struct_fields(typ)
        return _render(parts), "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if found := _MISSING_FIELD.match(reason):
        parts.append(found.group(1))
        return _render(parts), "required field is missing"
    return _render(parts), _clean_reason(reason, typ)


def _render(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += part if part.startswith("[") or not out else f".{part}"
    return out or "<document>"


def _key_name(key: object) -> str:
    return "<key>" if key is None else str(key)[:_MAX_KEY_LEN]


def _clean_reason(reason: str, typ: Any) -> str:
    if reason.startswith("Invalid enum value"):
        choices = _choices(_concrete(typ, ""))
        return f"must be one of {', '.join(choices)}" if choices else "is not an allowed value"
    if reason == _NON_BLANK_REASON:
        return "must be a string that is not blank"
    if reason.startswith("Expected "):
        return reason  # msgspec names types and bounds here, never the value it got
    return "invalid value"


def _concrete(typ: Any, value: object) -> Any:
    """``typ`` without ``Annotated`` and, for an optional type, the arm that fits ``value``."""
    while typing.get_origin(typ) is Annotated:
        typ = typing.get_args(typ)[0]
    if typing.get_origin(typ) in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None and len(arms) < len(typing.get_args(typ)):
            return type(None)
        return _concrete(arms[0], value) if len(arms) == 1 else typ
    return typ


def _field_type(typ: Any, name: str) -> Any:
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        return typing.get_type_hints(typ, include_extras=True).get(name, Any)
    return Any


def _item_type(typ: Any) -> Any:
    args = typing.get_args(typ)
    return args[0] if typing.get_origin(typ) in (list, tuple, set, frozenset) and args else Any


def _mapping_types(typ: Any) -> tuple[Any, Any]:
    args = typing.get_args(typ)
    return (args[0], args[1]) if typing.get_origin(typ) is dict and len(args) == 2 else (Any, Any)


def _first_failing(mapping: object, typ: Any, strict: bool, *, values: bool) -> object:
    # msgspec checks a mapping's entries in order and stops at the first bad one.
    if not isinstance(mapping, Mapping):
        return None
    for key, item in mapping.items():
        try:
            msgspec.convert(item if values else key, typ, strict=strict)
        except msgspec.ValidationError:
            return key
    return None


def _struct_fields(typ: Any) -> tuple[str, ...]:
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        return tuple(sorted(f.encode_name for f in msgspec.structs.fields(typ)))
    return ()


def _choices(typ: Any) -> list[str]:
    if typing.get_origin(typ) is typing.Literal:
        return sorted(str(v) for v in typing.get_args(typ))
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return sorted(str(member.value) for member in typ)
    return []
