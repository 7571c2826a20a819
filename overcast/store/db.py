"""Engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import orjson
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from overcast.store import changes

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL, foreign keys and a busy timeout on SQLite."""
    if url.startswith("sqlite"):
        # JSON columns decoded by orjson (what the API parses bodies with, so every stored value is
        # within what it reads); json.loads was a tenth of a computed server list
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_deserializer=orjson.loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        stamp = changes.stamp_path(url)
        if stamp is not None:  # committed writes move <file>.changes (cached reads check it)
            changes.track(engine, stamp)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Store:
    """Owns the engine and hands out sessions that commit on success and roll back on error."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        #: the change stamp of this database (None: not kept, see overcast.store.changes)
        self.changes = changes.stamp_path(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            with session.begin():
                yield session

    def upgrade(self, default_region: str | None = None) -> None:
        """Bring the schema to the newest Alembic revision (a no-op costing one query when it is).

        ``default_region`` (the first configured region) is where migrations put rows that did not
        belong to a region before (``RegionOne`` when not given).
        """
        if self.revision() == newest_revision():
            return
        from alembic import command  # imported only when there is work: it costs a third of a second

        config = alembic_config(self.url)
        if default_region:
            config.attributes["default_region"] = default_region
        command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The schema's current Alembic revision, or None for an empty database."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def dispose(self) -> None:
        self.engine.dispose()


def newest_revision() -> str:
    """The newest migration's revision id. Migrations are named ``NNNN_<what>.py`` with revision
    ``"NNNN"``, one after another (a test checks the chain), so the newest is the highest number."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def alembic_config(url: str) -> "AlembicConfig":
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
