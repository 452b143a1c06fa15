"""Audit records, wrapped data keys, signed checkpoints.

Revision ID: audit_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(128)),
        sa.Column("principal", sa.String(256)),
        sa.Column("role", sa.String(256)),
        sa.Column("model", sa.String(256)),
        sa.Column("request_id", sa.String(128)),
        sa.Column("subject_ref", sa.String(64)),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("entity_counts", sa.Text, nullable=False),
        sa.Column("usage", sa.Text),
        sa.Column("latency_us", sa.BigInteger),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary),
        sa.Column("ciphertext_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for column in ("ts_us", "principal", "subject_ref", "request_id", "kind"):
        op.create_index(f"ix_audit_records_{column}", "audit_records", [column])
    op.create_table(
        "audit_deks",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(80), nullable=False, unique=True),
        sa.Column("kek_version", sa.Integer, nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_audit_deks_kek_version", "audit_deks", ["kek_version"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_deks_kek_version", "audit_deks")
    op.drop_table("audit_deks")
    for column in ("ts_us", "principal", "subject_ref", "request_id", "kind"):
        op.drop_index(f"ix_audit_records_{column}", "audit_records")
    op.drop_table("audit_records")
