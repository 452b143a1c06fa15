"""Long texts are detected in overlapping windows; which windows, and how they are batched."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Long texts are detected window by window: spaCy's memory grows with the document (a 490,000-
# character text took 2 GB), and a window is the unit of work between two checks for cancellation
# (about 0.3 s of one core). Texts up to this length are one window, detected as before; windows of
# several texts are batched through spaCy up to this many characters at a time.
WINDOW_CHARS = 10_000
# Characters that consecutive windows share. Each window keeps the findings that reach into its
# core, and cores split every shared stretch in the middle; a finding that reaches into a core lies,
# with its context, inside that core's window whenever finding and context fit in half the overlap:
# the longest entity a recognizer reports (an e-mail address: 254 characters by RFC 5321; the other
# identifiers fit in the analyzer's MAX_STRUCTURED_LENGTH) plus the context read around it
# (Presidio's five tokens before, ContextWords' 40 characters before and 20 after), 256 characters
# each, both sides.
WINDOW_OVERLAP = 1_024


@dataclass(frozen=True, slots=True)
class Window:
    """``text[start:end]`` of the pending text at ``position``; of its findings detection keeps those
    that reach into ``text[core_start:core_end]``. The cores of a text's windows partition it."""

    position: int
    start: int
    end: int
    core_start: int
    core_end: int
    first: bool
    last: bool


def split_windows(position: int, length: int) -> list[Window]:
    """The windows a text of ``length`` characters is detected in: one up to WINDOW_CHARS, else
    windows of WINDOW_CHARS sharing WINDOW_OVERLAP characters with the next one."""
    if length <= WINDOW_CHARS:
        return [Window(position, 0, length, 0, length, True, True)]
    step = WINDOW_CHARS - WINDOW_OVERLAP
    starts = [0]
    while starts[-1] + WINDOW_CHARS < length:
        starts.append(starts[-1] + step)
    cuts = [0, *(start + WINDOW_OVERLAP // 2 for start in starts[1:]), length]
    return [
        Window(
            position,
            start,
            min(start + WINDOW_CHARS, length),
            cuts[index],
            cuts[index + 1],
            first=index == 0,
            last=index == len(starts) - 1,
        )
        for index, start in enumerate(starts)
    ]


def batches(windows: Sequence[Window]) -> Iterator[list[Window]]:
    """Consecutive windows, up to WINDOW_CHARS characters a batch (one window at least)."""
    batch: list[Window] = []
    size = 0
    for window in windows:
        length = window.end - window.start
        if batch and size + length > WINDOW_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(window)
        size += length
    if batch:
        yield batch
