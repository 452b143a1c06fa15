"""Authentication: API keys (hashed, rotatable), OIDC/JWT bearer tokens, and rate limits."""

from gateway.auth.errors import AuthenticationError, KeyNotFoundError, KeyStateError, KeyStoreError

__all__ = ["AuthenticationError", "KeyNotFoundError", "KeyStateError", "KeyStoreError"]
