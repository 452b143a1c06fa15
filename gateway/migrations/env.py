"""Alembic environment: runs on the connection handed over by :func:`gateway.migrations.migrate`."""

from __future__ import annotations

from alembic import context

from gateway.auth.keys import metadata
from gateway.migrations import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run gateway migrations through gateway.migrations.migrate(engine)")

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
