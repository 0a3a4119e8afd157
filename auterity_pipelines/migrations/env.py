"""Alembic environment: runs on the connection that `resources.warehouse.migrate` hands it."""

from alembic import context

from auterity_pipelines.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()
