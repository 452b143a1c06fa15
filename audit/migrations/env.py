"""Alembic environment: runs on the connection handed over by :func:`audit.migrations.migrate`."""

from __future__ import annotations

from alembic import context

from audit.migrations import VERSION_TABLE
from audit.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run audit migrations through audit.migrations.migrate(engine)")

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
