"""Encrypted, hash-chained, signed-checkpoint audit log (see :mod:`audit.store`, :mod:`audit.keyring`)."""

from audit.erasure import ERASURE_KIND, ErasureDeclaration
from audit.errors import AuditError, AuditIntegrityError, AuditUnavailable, KeyUnavailable
from audit.export import (
    BundleReport,
    BundleStream,
    ExportSummary,
    bundle_bytes,
    export_bundle,
    verify_bundle,
    verify_bundle_bytes,
)
from audit.keyring import KeyProvider, LocalKeyFileProvider, WrappedKey
from audit.migrations import migrate
from audit.records import AuditEvent, RecordHeader, RecordView
from audit.rotation import RotationSummary, retire_kek, rotate_kek
from audit.signing import Checkpoint, parse_public_key, public_key_text
from audit.store import (
    AppendReceipt,
    AuditLog,
    AuditSettings,
    ErasureSummary,
    InvalidCursor,
    RecordFilter,
    RecordPage,
    ShredSummary,
    prepare_sqlite_database,
    prepare_sqlite_file,
)
from audit.verify import VerifyReport

__all__ = [
    "ERASURE_KIND",
    "AppendReceipt",
    "AuditError",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditLog",
    "AuditSettings",
    "AuditUnavailable",
    "BundleReport",
    "BundleStream",
    "Checkpoint",
    "ErasureDeclaration",
    "ErasureSummary",
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
    "bundle_bytes",
    "export_bundle",
    "migrate",
    "parse_public_key",
    "prepare_sqlite_database",
    "prepare_sqlite_file",
    "public_key_text",
    "retire_kek",
    "rotate_kek",
    "verify_bundle",
    "verify_bundle_bytes",
]
