"""Alembic environment: the models' metadata, batch mode for SQLite, and either the
connection handed over by `portal.schema` or the configured database URL."""

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from portal.db import make_engine
from portal.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url())
    with engine.connect() as conn:
        _run(conn)
