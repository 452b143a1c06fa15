"""What the pool knows about one upstream: health, circuit, load. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from engine.pool.breaker import CircuitBreaker, CircuitState


@dataclass
class WorkerState:
    """One worker (or, in router mode, the router). ``breaker`` is None in router mode: the router
    keeps its own breakers per worker, and the gateway must not shut its one upstream off."""

    url: str
    breaker: CircuitBreaker | None
    #: From the last active health check; a worker counts as healthy until a check says otherwise
    #: (the first check runs when the pool starts).
    healthy: bool = True
    checked: bool = False
    #: Requests this process has sent to it and not finished.
    in_flight: int = 0
    #: SGLang's ``sglang:num_running_reqs`` / ``sglang:num_queue_reqs`` at the last scrape (None:
    #: not scraped, or the worker does not export them), and our own in-flight count at that moment.
    running: float | None = None
    queued: float | None = None
    in_flight_at_scrape: int = 0
    #: Why the last check or request failed, as a short fixed word ("refused", "timeout",
    #: "status_503"...): never a message from the worker.
    last_error: str | None = None
    served: int = field(default=0)

    def available(self) -> bool:
        """Healthy and its circuit lets a request through."""
        return self.healthy and (self.breaker is None or self.breaker.allows_request())

    def load(self, use_metrics: bool) -> float:
        """Requests ahead of a new one here: ours in flight, plus, with ``use_metrics``, what the
        worker reported running or queued beyond ours at its last scrape (other gateways' work)."""
        if not use_metrics or self.running is None:
            return float(self.in_flight)
        others = max(0.0, self.running + (self.queued or 0.0) - self.in_flight_at_scrape)
        return self.in_flight + others

    @property
    def circuit(self) -> str:
        return "none" if self.breaker is None else self.breaker.state.value

    @property
    def circuit_open(self) -> bool:
        return self.breaker is not None and self.breaker.state is CircuitState.OPEN


def display_url(url: str) -> str:
    """``scheme://host:port/path`` without user info, query or fragment: safe to show or log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")
