"""Alembic environment: the URL comes from the caller's config (see runtime/schema.py). The
metadata is every package's tables: the runtime's, the calendar's and the hotline's."""
from alembic import context
from sqlalchemy import create_engine

import hotline.models  # noqa: F401  (registers the hotline's tables)
import runtime.models  # noqa: F401  (registers the runtime's tables)
import workdays.models  # noqa: F401  (registers the calendar's tables)
from runtime.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online():
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


def _run(connection):
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
