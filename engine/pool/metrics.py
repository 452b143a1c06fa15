"""The two SGLang load gauges from a worker's ``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

RUNNING = "sglang:num_running_reqs"
QUEUED = "sglang:num_queue_reqs"


@dataclass(frozen=True)
class WorkerLoad:
    """Requests running and waiting on one worker, summed over its label sets (one per model or
    data-parallel rank); None where the worker does not export the gauge."""

    running: float | None
    queued: float | None


def parse_load(text: str) -> WorkerLoad:
    """The load gauges in ``text``. Text that is not Prometheus' format gives no values (None),
    never an error: a worker's metrics weigh the choice, they never decide health."""
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in (RUNNING, QUEUED):
                    totals[sample.name] = totals.get(sample.name, 0.0) + float(sample.value)
    except (ValueError, TypeError, IndexError, KeyError):
        return WorkerLoad(None, None)
    return WorkerLoad(totals.get(RUNNING), totals.get(QUEUED))
