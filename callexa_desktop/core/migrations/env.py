"""Alembic environment: always run with a connection handed in by core.database."""

from alembic import context
from sqlmodel import SQLModel

from callexa_desktop.core import models  # noqa: F401  (registers the tables)

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
