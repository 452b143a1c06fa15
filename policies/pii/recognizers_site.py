"""Site-specific identifiers declared in the policy YAML, as Presidio pattern recognizers."""

from __future__ import annotations

from collections.abc import Iterable

from presidio_analyzer import Pattern, PatternRecognizer

from policies.pii.config import CustomPattern


def site_recognizers(patterns: Iterable[CustomPattern]) -> list[PatternRecognizer]:
    """One PatternRecognizer per declared pattern; context words raise the score."""
    return [
        PatternRecognizer(
            supported_entity=pattern.name,
            name=f"site:{pattern.name}",
            patterns=[Pattern(pattern.name.lower(), pattern.regex, pattern.score)],
            context=list(pattern.context),
            supported_language="en",
        )
        for pattern in patterns
    ]
