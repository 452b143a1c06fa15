"""Errors raised by the pure policy layer.

The gateway maps each of these to an HTTP status and the OpenAI error shape in one
place (``gateway/errors.py``). Messages never contain personal data or secrets: they
name entity types, rule ids and document keys, never matched values.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base class for every error raised by ``policies``."""


class PolicyDocumentError(PolicyError):
    """A policy document is invalid. ``key`` is the dotted path of the bad field."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        super().__init__(f"{source}: {key}: {reason}")


class PolicyViolation(PolicyError):
    """The request breaks a policy and is refused (HTTP 400).

    ``code`` is a stable machine-readable reason; ``details`` holds only
    non-sensitive facts such as entity types or rule ids.
    """

    def __init__(self, message: str, code: str, details: dict[str, object] | None = None) -> None:
        self.code = code
        self.details = details or {}
        super().__init__(message)


class DetectionUnavailable(PolicyError):
    """PII detection failed or timed out; the request must be refused (HTTP 503)."""
