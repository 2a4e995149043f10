"""Alembic environment: runs only on a connection handed in by ``grok2api_storage.migrate``.

There is deliberately no offline (SQL script) mode and no URL in a config file: the
store's settings decide the database, and the runner holds the migration lock.
"""

from alembic import context

from grok2api_storage import migrate, models

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the grok2api migrations through grok2api_storage.migrate")

context.configure(
    connection=connection,
    target_metadata=models.Base.metadata,
    version_table=migrate.VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
