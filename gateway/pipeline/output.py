"""The output filter of one exchange, and filtering of whole answers and stream chunks with it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.pipeline.context import Exchange
from gateway.pipeline.shapes import append_channel_text, blank_choice, must_forward, text_fields
from policies.output.stream_filter import StreamFilter

Detect = Callable[[str], Sequence[Any]]


@dataclass(frozen=True)
class FilterSettings:
    """The site settings the output filter depends on (``pii.answer_ner``, ``pii.stream_names``,
    ``pii.stream_ner``)."""

    answer_ner: bool = True
    stream_names: bool = True
    stream_ner: bool = False


def make_filter(exchange: Exchange, settings: FilterSettings, *, streaming: bool = True) -> StreamFilter:
    """The output filter for this caller: restore only with ``pii:unmask``; redact leaked PII.

    Only the tokens this request issued are tokens; any other token shape in the answer is text.
    Streams look for structured identifiers chunk by chunk and, with ``stream_names``, for names
    with the name rules around each name in progress (``stream_ner``: with NER, clause by clause,
    instead); whole answers get the full detector, NER included, over all their text when
    ``answer_ner`` is on, so names the model produced on its own are caught there too.
    Everything comes from the exchange's context (rules, profile, detector snapshot).
    """
    context = exchange.context
    authz = context.authz
    issued = exchange.issued_tokens
    restore = issued if exchange.pseudonyms is not None and authz.may_unmask else None
    detector: Detect | None = None
    names: Detect | None = None
    name_holds: Literal["clause", "run"] = "clause"
    max_len = 0
    whole_ner = not streaming and settings.answer_ner
    if context.detector is not None:
        profile = authz.pii_profile

        def unless_allowed(detect: Detect) -> Detect:
            return lambda text: [f for f in detect(text) if profile.action_for(f.entity_type) != "allow"]

        full = context.detector.detect
        detector = unless_allowed(full if whole_ner else context.detector.detect_identifiers)
        if streaming and settings.stream_ner:
            names = unless_allowed(full)
        elif streaming and settings.stream_names:
            names = unless_allowed(context.detector.detect_names_by_rules)
            name_holds = "run"
        max_len = context.detector.max_pattern_length
    return StreamFilter(
        authz.output_rules,
        restore,
        detector=detector,
        max_entity_len=max_len,
        name_detector=names,
        name_holds=name_holds,
        issued_tokens=tuple(issued),
        detector_scans_prose=whole_ner,
    )


def filter_whole_answer(answer: dict[str, Any], filt: StreamFilter) -> dict[str, dict[str, str]]:
    """Filter every choice of a non-streaming answer in place; returns the raw text per choice
    and channel (for the response record). A blocked choice is blanked (``content_filter``)."""
    raw: dict[str, dict[str, str]] = {}
    for choice in answer.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0)
        targets = text_fields(choice, streaming=False)
        raw[str(index)] = {name: value for name, (value, _setter) in targets.items()}
        for name, (value, setter) in targets.items():
            # The whole field in one piece: the detector (NER too) sees all of it at once.
            setter(filt.feed(f"{index}.{name}", value, last=True).text)
        if filt.blocked:
            blank_choice(choice)
            choice["finish_reason"] = "content_filter"
    return raw


def answer_chars(answer: dict[str, Any]) -> int:
    """The characters of text the output filter reads in a whole answer (every choice's fields)."""
    total = 0
    for choice in answer.get("choices") or ():
        if isinstance(choice, dict):
            total += sum(len(value) for value, _setter in text_fields(choice, streaming=False).values())
    return total


@dataclass
class StreamState:
    """What a stream produced so far: the raw answer per choice and channel (for the audit
    record), the usage the engine reported, and the chunk template (id, object, created, model)."""

    raw: dict[str, dict[str, str]] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    template: dict[str, Any] = field(default_factory=dict)

    def add(self, index: int, channel: str, text: str) -> None:
        per_choice = self.raw.setdefault(str(index), {})
        per_choice[channel] = per_choice.get(channel, "") + text

    def observe(self, chunk: dict[str, Any]) -> None:
        """Note the template from the first chunk and the usage when a chunk carries it."""
        if not self.template:
            self.template = {k: chunk[k] for k in ("id", "object", "created", "model") if k in chunk}
        if chunk.get("usage"):
            self.usage = chunk["usage"]


def filter_stream_chunk(
    chunk: dict[str, Any], filt: StreamFilter, state: StreamState
) -> dict[str, Any] | None:
    """Filter every text field of every choice in one chunk in place; None when nothing is left
    to send. A choice that finishes gets what its channels still held."""
    keep = False
    for choice in chunk["choices"]:
        if not isinstance(choice, dict):
            continue
        index = int(choice.get("index") or 0)
        for name, (text, setter) in text_fields(choice, streaming=True).items():
            state.add(index, name, text)
            released = filt.feed(f"{index}.{name}", text).text
            setter(released)
            keep = keep or bool(released)
        if choice.get("finish_reason") is not None:
            _flush_choice(choice, index, filt, state)
            keep = True
        elif must_forward(choice):
            keep = True
    return chunk if keep else None


def _flush_choice(choice: dict[str, Any], index: int, filt: StreamFilter, state: StreamState) -> None:
    # Release what is still held on this choice's channels before its finish chunk goes out.
    for name in state.raw.get(str(index), {}):
        tail = filt.finish(f"{index}.{name}").text
        if tail:
            append_channel_text(choice, name, tail)
