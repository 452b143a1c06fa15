"""Tables of the audit log (SQLAlchemy Core). Migrations in ``audit/migrations`` create them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

# seq is assigned by the append transaction under a lock, never by a sequence/autoincrement:
# a rolled-back sequence value would leave a gap that looks exactly like a deleted record.
records = Table(
    "audit_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("tenant", String(128)),
    Column("principal", String(256)),
    Column("role", String(256)),
    Column("model", String(256)),
    Column("request_id", String(128)),
    Column("subject_ref", String(64)),
    Column("decision", String(32), nullable=False),
    Column("entity_counts", Text, nullable=False),
    Column("usage", Text),
    Column("latency_us", BigInteger),
    Column("key_id", String(32), nullable=False),
    Column("ciphertext", LargeBinary),  # NULL once erased (tombstone); its hash stays
    Column("ciphertext_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # An erasure record's declaration of what it removed (audit.erasure); NULL on every other record.
    Column("erases", Text),
    Index("ix_audit_records_ts_us", "ts_us"),
    Index("ix_audit_records_principal", "principal"),
    Index("ix_audit_records_subject_ref", "subject_ref"),
    Index("ix_audit_records_request_id", "request_id"),
    Index("ix_audit_records_kind", "kind"),
)

# Data keys, only ever stored wrapped by a KEK version held outside the database.
deks = Table(
    "audit_deks",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("scope", String(80), nullable=False, unique=True),
    Column("kek_version", Integer, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_audit_deks_kek_version", "kek_version"),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("head_hash", String(64), nullable=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", String(128), nullable=False),
)
