"""structlog configuration (JSON lines on stderr), set up once per process.

Only events with fields go to the log: ids, routes, statuses, latencies, counts and type names.
Request and answer text, pseudonym maps, subject ids and credentials are never passed to a logger.
"""

from __future__ import annotations

import logging
import sys

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(level: str = "info") -> None:
    """JSON logs with ISO timestamps; quiets libraries that would log request details."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
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
            ],
        )
    )
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # uvicorn's access log prints raw paths and client addresses in its own format; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # Presidio's decision-process trace would print analyzed text; it must never be switched on.
    logging.getLogger("decision_process").disabled = True
    for noisy in ("httpx", "httpcore", "presidio-analyzer", "jieba", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
