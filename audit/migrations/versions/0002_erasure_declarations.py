"""Erasure declarations: ``audit_records.erases``.

Revision ID: audit_0002
Revises: audit_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0002"
down_revision = "audit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and hashed only when set: every existing record keeps its hash.
    op.add_column("audit_records", sa.Column("erases", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("erases")
