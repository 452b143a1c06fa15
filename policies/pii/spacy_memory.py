"""Keeps spaCy from remembering request text.

spaCy adds every new token it meets to its vocabulary and string store, for the life of the
process: each request's names, e-mail addresses and numbers stayed in memory, in clear, and the
process grew by about 1 kB per request (10 MB per 10,000 fresh prompts, measured). spaCy 3.8's
memory zones make those entries transient, freed when the zone closes; a zone is process-wide
(it swaps the vocabulary's allocator), so the detection threads and the event loop share one,
and it is closed and reopened only when no detection is inside it: a zone's entries must not be
freed under a Doc another thread still reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

#: Transient strings that make the zone worth renewing at the next moment no detection is inside
#: it (about a hundred requests' worth of new tokens).
RENEW_AT = 2_000
#: Transient strings beyond which new detections wait for the zone to be renewed, for a detector
#: that is never idle; the detections inside finish first (each is bounded by ``pii.timeout_s``).
WAIT_AT = 50_000


class VocabularyZone:
    """One spaCy memory zone shared by every detection, renewed when none is inside it.

    Usage: ``with zone.entered(): ...`` around all work with spaCy objects of one detection; no
    ``Doc``, ``Token`` or ``Span`` may outlive the block (plain strings and offsets may).
    """

    def __init__(self, nlp: Any, renew_at: int = RENEW_AT, wait_at: int = WAIT_AT) -> None:
        if renew_at < 1 or wait_at < renew_at:
            raise ValueError("need 1 <= renew_at <= wait_at")
        self._nlp = nlp
        self._strings = nlp.vocab.strings
        self._renew_at = renew_at
        self._wait_at = wait_at
        self._changed = threading.Condition()
        self._inside = 0
        self._depth = threading.local()  # a detection inside another on one thread never waits
        self._zone: AbstractContextManager[Any] | None = None
        self._base = 0
        self.renewals = 0
        self._open()

    @property
    def transient_strings(self) -> int:
        """Strings spaCy has added since the zone was last renewed."""
        return len(self._strings) - self._base

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Hold the zone open for one detection's work with spaCy."""
        depth = getattr(self._depth, "value", 0)
        with self._changed:
            while not depth and self.transient_strings >= self._wait_at and self._inside:
                self._changed.wait()
            if not self._inside and self.transient_strings >= self._wait_at:
                self._renew()
            self._inside += 1
        self._depth.value = depth + 1
        try:
            yield
        finally:
            self._depth.value = depth
            with self._changed:
                self._inside -= 1
                if not self._inside and self.transient_strings >= self._renew_at:
                    self._renew()
                    self._changed.notify_all()

    def close(self) -> None:
        """Free what the zone holds and stop using zones (for shutdown and tests)."""
        with self._changed:
            while self._inside:
                self._changed.wait()
            if self._zone is not None:
                self._zone.__exit__(None, None, None)
                self._zone = None

    def _open(self) -> None:
        self._base = len(self._strings)
        zone = self._nlp.memory_zone()
        zone.__enter__()
        self._zone = zone

    def _renew(self) -> None:
        if self._zone is not None:
            self._zone.__exit__(None, None, None)
        self._open()
        self.renewals += 1
