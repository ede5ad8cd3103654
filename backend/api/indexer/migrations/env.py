"""Alembic environment: run on the connection the indexer passes in `config.attributes`
(migrations run programmatically when the indexer opens its database, see database.py)."""

from __future__ import annotations

from alembic import context

from backend.api.indexer.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
