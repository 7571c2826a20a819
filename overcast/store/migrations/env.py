"""Alembic environment: migrations run against the URL Overcast is configured with."""

from alembic import context

from overcast.store.db import make_engine
from overcast.store.models import Base
# Every module that defines tables on Base.metadata, so autogenerate and upgrades see them all.
import overcast.ops.models  # noqa: F401,E402
import overcast.store.compute  # noqa: F401,E402
import overcast.store.image  # noqa: F401,E402
import overcast.store.metadefs  # noqa: F401,E402
import overcast.store.placement  # noqa: F401,E402

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
