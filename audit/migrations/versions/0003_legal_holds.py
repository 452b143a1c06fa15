"""Legal holds: ``audit_legal_holds``.

Revision ID: audit_0003
Revises: audit_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0003"
down_revision = "audit_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_legal_holds",
        sa.Column("hold_id", sa.String(32), primary_key=True),
        sa.Column("subject_ref", sa.String(64)),
        sa.Column("since_us", sa.BigInteger),
        sa.Column("until_us", sa.BigInteger),
        sa.Column("tenant", sa.String(128)),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256)),
        sa.Column("released_us", sa.BigInteger),
        sa.Column("released_by", sa.String(256)),
    )
    op.create_index("ix_audit_legal_holds_subject_ref", "audit_legal_holds", ["subject_ref"])


def downgrade() -> None:
    op.drop_index("ix_audit_legal_holds_subject_ref", "audit_legal_holds")
    op.drop_table("audit_legal_holds")
