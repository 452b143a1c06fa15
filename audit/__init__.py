"""Encrypted, hash-chained, signed-checkpoint audit log (see :mod:`audit.store`, :mod:`audit.keyring`)."""

from audit.errors import AuditError, AuditIntegrityError, AuditUnavailable, KeyUnavailable
from audit.export import ExportSummary, verify_bundle
from audit.keyring import KeyProvider, LocalKeyFileProvider, WrappedKey
from audit.migrations import migrate
from audit.records import AuditEvent, RecordHeader, RecordView
from audit.rotation import RotationSummary, retire_kek, rotate_kek
from audit.signing import Checkpoint
from audit.store import (
    AppendReceipt,
    AuditLog,
    AuditSettings,
    InvalidCursor,
    RecordFilter,
    RecordPage,
    ShredSummary,
)
from audit.verify import VerifyReport

__all__ = [
    "AppendReceipt",
    "AuditError",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditLog",
    "AuditSettings",
    "AuditUnavailable",
    "Checkpoint",
    "ExportSummary",
    "InvalidCursor",
    "KeyProvider",
    "KeyUnavailable",
    "LocalKeyFileProvider",
    "RecordFilter",
    "RecordHeader",
    "RecordPage",
    "RecordView",
    "RotationSummary",
    "ShredSummary",
    "VerifyReport",
    "WrappedKey",
    "migrate",
    "retire_kek",
    "rotate_kek",
    "verify_bundle",
]
