"""Errors raised by the engine client. Messages name the worker and the failure, never content."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for engine failures."""


class EngineUnavailable(EngineError):
    """No worker could be reached (connect error, timeout before the first byte); HTTP 503."""


class EngineBadResponse(EngineError):
    """A worker answered with something that is not the SGLang/OpenAI protocol; HTTP 502."""


class EngineRejected(EngineError):
    """A worker refused the request with a 4xx; the status and OpenAI error body are passed on."""

    def __init__(self, status: int, message: str, error_type: str = "invalid_request_error") -> None:
        self.status = status
        self.error_type = error_type
        super().__init__(message)
