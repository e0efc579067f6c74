"""Alembic environment: runs on the connection the store hands it (never opens its own)."""

from __future__ import annotations

from alembic import context

from scraper.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via the alembic CLI, which we do not use
    raise RuntimeError("run migrations through `ofsted-watch db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
