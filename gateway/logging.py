"""structlog configuration (JSON lines on stderr), set up once per process.

Only events with fields go to the log: ids, routes, statuses, latencies, counts and type names.
Request and answer text, pseudonym maps, subject ids and credentials are never passed to a logger;
as a last line of defence, every event (the standard library's included) is scrubbed of anything
shaped like personal data or a secret just before it is rendered (:mod:`gateway.observability.scrub`).
"""

from __future__ import annotations

import logging
import sys

import structlog

from gateway.observability.logs import add_trace_ids
from gateway.observability.scrub import scrub_event

# Tracebacks as data, without the frames' local variables: they would hold request bodies.
_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(level: str = "info") -> None:
    """JSON logs with ISO timestamps and trace ids, scrubbed last; quiets libraries that would log
    request details."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_ids,
            _tracebacks,
            scrub_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries log through the standard library: render them as JSON lines too, warnings and up.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer(),
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                add_trace_ids,
                _tracebacks,
                scrub_event,
            ],
        )
    )
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # uvicorn's access log prints raw paths and client addresses in its own format; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # Presidio's decision-process trace would print analyzed text; it must never be switched on.
    logging.getLogger("decision_process").disabled = True
    for noisy in ("httpx", "httpcore", "aiohttp", "presidio-analyzer", "jieba", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
