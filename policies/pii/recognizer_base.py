"""Base of the project's rule-based Presidio recognizers (no model to load, one entity each)."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer


class RuleRecognizer(EntityRecognizer):
    """A recognizer for one entity type, named after its class, run in the "en" pipeline
    (Presidio's language tag; Chinese text goes through the same analyzer)."""

    entity_type: str = ""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.entity_type],
            name=type(self).__name__,
            supported_language="en",
            context=[],
        )

    def load(self) -> None:
        return None
