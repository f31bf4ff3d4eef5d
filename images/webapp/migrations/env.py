"""Alembic's entry point for the app's migrations (images/webapp/schema.py runs it; no alembic.ini).

schema.py hands over a connection that is already inside the one transaction that holds the
advisory lock: every pending migration, the version stamp and the grants commit together or
not at all (PostgreSQL's DDL is transactional), so a failed migration leaves the schema as it was.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    # The version table lives in the app's schema, with its tables (the serving role may not write `public`).
    version_table_schema=context.config.attributes["schema"],
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
