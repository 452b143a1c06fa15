"""Errors of authentication and of the API key store.

``AuthenticationError.code`` is a stable reason for the audit log and metrics; the gateway
answers every one of them with the same 401 so a caller learns nothing about why.
Messages never contain a credential.
"""

from __future__ import annotations


class AuthenticationError(Exception):
    """The credential is missing, malformed, unknown, expired or revoked (HTTP 401)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class KeyStoreError(Exception):
    """Base class for API key management errors (not authentication failures)."""


class KeyNotFoundError(KeyStoreError, LookupError):
    """No API key has this id (HTTP 404)."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"no API key with id {key_id!r}")


class KeyStateError(KeyStoreError):
    """The operation does not apply to the key in its state, e.g. rotating a revoked key (HTTP 409)."""

    def __init__(self, key_id: str, state: str) -> None:
        self.key_id = key_id
        self.state = state
        super().__init__(f"API key {key_id!r} is {state}")
