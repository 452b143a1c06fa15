"""Errors of the audit log. Messages name types, ids and seqs, never content or key material."""

from __future__ import annotations


class AuditError(Exception):
    """Base of every audit log error."""


class AuditUnavailable(AuditError):
    """The audit store cannot durably record right now; the caller must fail closed."""


class AuditIntegrityError(AuditError):
    """Stored data does not match its hash, signature or authentication tag."""


class KeyUnavailable(AuditError):
    """A key (KEK version, data key, signing key) is missing or cannot be used."""
