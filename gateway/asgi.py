"""ASGI entry point for ``gateway serve --workers N``: each worker process builds its own app.

The parent process validates the settings once and hands them to the workers as JSON in the
environment (no secrets beyond what the parent was given; the variable lives only in these
processes). The app carries its own request middleware (``create_app``), so nothing wraps it here.
"""

from __future__ import annotations

import os

import msgspec
from litestar import Litestar

from gateway.app import create_app
from gateway.logging import configure_logging
from gateway.settings import Settings

SETTINGS_ENV = "GW_WORKER_SETTINGS_JSON"  # not GATEWAY_*: that prefix is read as overrides
SIMULATED_ENV = "GW_WORKER_SIMULATED"


def create() -> Litestar:
    """Uvicorn factory: the gateway app from the settings the parent process validated."""
    settings = msgspec.json.decode(os.environ[SETTINGS_ENV].encode(), type=Settings)
    configure_logging(settings.logging.level)
    return create_app(settings, simulated_engine=bool(os.environ.get(SIMULATED_ENV)))
