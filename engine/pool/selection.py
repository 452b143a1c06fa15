"""Choosing a worker: a pure function over the workers' states.

The least loaded available worker that is not saturated wins; equal loads take turns (the
rotation offset), so a quiet pool still spreads its traffic. The answer says why nothing was
chosen, because that decides the HTTP status: no available worker is 503, all saturated is a wait
in the queue (then 429).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from engine.pool.worker import WorkerState


class NoWorker(enum.Enum):
    #: No worker is healthy with a circuit that lets a request through (or all were tried).
    UNAVAILABLE = "unavailable"
    #: Some are available, but each has its maximum of requests in flight.
    SATURATED = "saturated"


@dataclass(frozen=True)
class Choice:
    worker: WorkerState | None
    reason: NoWorker | None = None


def choose_worker(
    workers: Sequence[WorkerState],
    *,
    exclude: Collection[str] = (),
    max_in_flight: int = 0,
    use_metrics: bool = False,
    rotation: int = 0,
) -> Choice:
    """The worker a new request should go to, or why there is none.

    ``exclude``: URLs already tried for this request. ``max_in_flight``: per-worker bound (0: none).
    ``rotation``: where equal loads start taking turns (the caller advances it).
    """
    candidates = [w for w in workers if w.url not in exclude and w.available()]
    if not candidates:
        return Choice(None, NoWorker.UNAVAILABLE)
    open_slots = [w for w in candidates if not max_in_flight or w.in_flight < max_in_flight]
    if not open_slots:
        return Choice(None, NoWorker.SATURATED)
    count = len(workers)
    position = {id(w): (i - rotation) % count for i, w in enumerate(workers)}
    best = min(open_slots, key=lambda w: (w.load(use_metrics), w.in_flight, position[id(w)]))
    return Choice(best)
