"""Base of the project's rule-based Presidio recognizers (no model to load)."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import EntityRecognizer


class RuleRecognizer(EntityRecognizer):
    """A recognizer for ``entity_type`` (or the ``entity_types`` it is given), named after its
    class, run in the "en" pipeline (Presidio's language tag; Chinese text goes through the same
    analyzer)."""

    entity_type: str = ""

    def __init__(self, entity_types: Sequence[str] = ()) -> None:
        super().__init__(
            supported_entities=list(entity_types) or [self.entity_type],
            name=type(self).__name__,
            supported_language="en",
            context=[],
        )

    def load(self) -> None:
        return None
