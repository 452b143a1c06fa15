"""Whole (non-streaming) text through the streaming filter, for tests that check a rule's effect
on a complete answer rather than on chunks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from policies.output.config import CompiledRules
from policies.output.stream_filter import FilterDecision, Span, StreamFilter, default_pii_token


def filter_text(
    rules: CompiledRules,
    restore_map: Mapping[str, str] | None,
    text: str,
    detector: Callable[[str], Sequence[Span]] | None = None,
    max_entity_len: int = 0,
    pii_token: Callable[[str], str] = default_pii_token,
    channel: str = "content",
) -> tuple[str, list[FilterDecision], bool]:
    """(released text, decisions, blocked) for ``text`` fed as one last chunk; the text is empty
    when the filter blocked."""
    filt = StreamFilter(
        rules, restore_map, detector, max_entity_len or (len(text) + 1 if detector else 0), pii_token
    )
    released = filt.feed(channel, text, last=True).text
    if filt.blocked:
        return "", filt.decisions, True
    return released, filt.decisions, False
