"""Closed vocabularies for metric labels: a value not on the list is reported as ``other``.

A label value is a series for as long as Prometheus keeps it, and every series is one more place
data could hide; so labels only ever carry route templates, served model names, role names,
status codes, entity types and rule ids that the gateway itself knows, never what a caller sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["OTHER", "LabelVocabulary", "Vocabularies", "status_label"]

#: The value every label takes when what was observed is not on its vocabulary.
OTHER: Final = "other"
# Even a listed value must look like an identifier: site-configured names are still printed.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9/][A-Za-z0-9_.:/{}+\-]{0,127}")
# A vocabulary never grows past this; a policy with more rules reports the rest as "other".
MAX_VOCABULARY = 512


class LabelVocabulary:
    """The values one label may take. Replaced whole (a policy reload, a new model list), so a
    reader sees either the old or the new set."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: Iterable[str] = ()) -> None:
        self._name = name
        self._values: frozenset[str] = frozenset()
        self.replace(values)

    def __repr__(self) -> str:
        return f"LabelVocabulary({self._name!r}, {len(self._values)} values)"

    @property
    def values(self) -> frozenset[str]:
        """The values in force."""
        return self._values

    def replace(self, values: Iterable[str]) -> None:
        """Put ``values`` in force (those that do not look like identifiers are left out)."""
        safe = sorted({v for v in values if isinstance(v, str) and _SAFE_VALUE.fullmatch(v)})
        self._values = frozenset(safe[:MAX_VOCABULARY])

    def label(self, value: str | None) -> str:
        """``value`` when it is on the vocabulary, else ``other``."""
        return value if value is not None and value in self._values else OTHER


def status_label(status: int) -> str:
    """An HTTP status code as a label (``other`` outside 100-599)."""
    return str(status) if 100 <= status <= 599 else OTHER


class Vocabularies:
    """Every label vocabulary of the gateway's metrics."""

    __slots__ = ("actions", "directions", "entity_types", "models", "outcomes", "roles", "routes", "rules")

    def __init__(self) -> None:
        self.routes = LabelVocabulary("route", ("unmatched",))
        self.models = LabelVocabulary("model")
        self.roles = LabelVocabulary("role", ("none",))
        self.entity_types = LabelVocabulary("entity_type")
        self.rules = LabelVocabulary("rule")
        self.actions = LabelVocabulary(
            "action", ("redact", "block", "flag", "restore", "pseudonymize", "mask", "allow")
        )
        self.directions = LabelVocabulary("direction", ("request", "answer"))
        self.outcomes = LabelVocabulary("outcome", ("ok", "timeout", "queue_timeout", "cancelled", "error"))

    def __repr__(self) -> str:
        return "Vocabularies()"
