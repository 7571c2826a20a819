"""Alembic environment: migrations run against the URL Overcast is configured with, and
autogenerate compares with every model (overcast.store.schema.load_models)."""

from alembic import context

from overcast.store.db import make_engine
from overcast.store.schema import load_models

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=load_models(),
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
