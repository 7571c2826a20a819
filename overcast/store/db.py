"""Engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

import orjson
from sqlalchemy import Table, create_engine, event, false, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from overcast.store import changes

_M = TypeVar("_M")

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
LOG = logging.getLogger(__name__)


class Unit:
    """One request's transaction (docs/decisions/0026-request-limits-and-transactions.md).

    While a unit is current (:func:`unit_of_work`), every ``Store.session()`` block shares one
    session per store and nothing commits until the unit finishes: the request's outcome decides.
    A block that raises rolls back everything the unit has done so far (the request is failing:
    nothing it made may stay half-made). Work that must wait for the commit (a background import,
    waking a worker) is queued with :meth:`Store.after_commit`.
    """

    def __init__(self) -> None:
        self._sessions: dict[int, Session] = {}
        self._after: list[Callable[[], None]] = []

    def session_for(self, store: "Store") -> Session:
        session = self._sessions.get(id(store))
        if session is None:
            session = self._sessions[id(store)] = store._sessions()
        return session

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def commit(self) -> None:
        """Make what the unit did so far final, now (a request that must wait for a worker to act
        on what it enqueued). What it does afterwards is one transaction again, and reads afresh
        what others (the worker) changed meanwhile."""
        for session in self._sessions.values():
            session.commit()
            session.expire_all()
        after, self._after = self._after, []
        for fn in after:
            fn()

    def rollback(self) -> None:
        for session in self._sessions.values():
            session.rollback()
        self._after.clear()

    def finish(self, commit: bool) -> None:
        """Commit (or roll back) and close every session; then run the after-commit work.

        :raises Exception: whatever the commit raised (everything is rolled back and closed then).
        """
        try:
            if commit:
                for session in self._sessions.values():
                    session.commit()
        except BaseException:
            self.rollback()
            raise
        finally:
            if not commit:
                self.rollback()
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
        for fn in self._after:
            try:
                fn()
            except Exception:  # noqa: BLE001 - the request has succeeded; the work logs its own failure
                LOG.exception("after-commit work failed")
        self._after.clear()


#: PostgreSQL's SQLSTATEs for a transaction the server aborted to let others go on (deadlock
#: detected, serialization failure): the transaction did nothing, running it again is the cure
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is the database aborting a transaction that may simply run again (as
    oslo.db's ``DBDeadlock``: the caller retries, Neutron's API does the same)."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def take_write_lock(session: Session, table: Table) -> None:
    """On SQLite, take the database's write lock for this transaction now, waiting (up to the busy
    timeout) for a concurrent writer to commit: an update of ``table`` that matches no row. What
    the transaction reads afterwards includes what that writer committed, so a check made after
    it ("is it there yet?") holds until this transaction ends; without it, a transaction that read
    first fails at its first write ("database is locked"). PostgreSQL needs nothing: its writers
    wait on the rows themselves."""
    if session.get_bind().dialect.name == "sqlite":
        column = next(iter(table.primary_key.columns))
        session.execute(table.update().where(false()).values({column.name: column}))


def lock_row(session: Session, model: type[_M], row_id: str) -> _M | None:
    """The row of ``model`` with this id re-read under its lock, held to the end of the
    transaction (the write lock on SQLite, FOR UPDATE on PostgreSQL), None if it is gone: a
    concurrent change of the same row waits for this transaction to commit."""
    take_write_lock(session, model.__table__)  # type: ignore[attr-defined]
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


_UNIT: contextvars.ContextVar[Unit | None] = contextvars.ContextVar("overcast_unit", default=None)


@contextlib.contextmanager
def unit_of_work() -> Iterator[Unit]:
    """Make the blocks of this context one transaction, committed when it exits without an
    exception (see :class:`Unit`; the API's middleware decides by the response status instead)."""
    unit = Unit()
    token = _UNIT.set(unit)
    try:
        yield unit
    except BaseException:
        _UNIT.reset(token)
        unit.finish(commit=False)
        raise
    _UNIT.reset(token)
    unit.finish(commit=True)


def forget_unit() -> None:
    """No unit is current (a thread serving many requests never inherits a previous one's)."""
    if _UNIT.get() is not None:
        _UNIT.set(None)


def begin_unit() -> tuple[Unit, contextvars.Token]:
    """Start a unit for the current context; end it with :func:`end_unit`."""
    unit = Unit()
    return unit, _UNIT.set(unit)


def end_unit(unit: Unit, token: contextvars.Token, commit: bool) -> None:
    """:raises Exception: what the commit raised (the unit is rolled back and closed)."""
    _UNIT.reset(token)
    unit.finish(commit)


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
        """A transaction: committed when the block ends, rolled back if it raises. Inside a
        request (a :class:`Unit`), the block joins the request's transaction instead: flushed
        when it ends, and the commit waits for the request to succeed."""
        unit = _UNIT.get()
        if unit is not None:
            session = unit.session_for(self)
            try:
                yield session
                session.flush()
            except BaseException:
                unit.rollback()
                raise
            return
        with self._sessions() as session:
            with session.begin():
                yield session

    @contextlib.contextmanager
    def independent_session(self) -> Iterator[Session]:
        """A transaction of its own that commits when the block ends, whatever the request it
        runs in does later (a failed login's counter: the request answers 401, the count stays).
        On SQLite, never open one after the request has written: it would wait for its own lock."""
        with self._sessions() as session:
            with session.begin():
                yield session

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the current request's transaction has committed (never, if it rolls
        back); at once outside a request."""
        unit = _UNIT.get()
        if unit is None:
            fn()
        else:
            unit.after_commit(fn)

    def commit_now(self) -> None:
        """Commit the current request's work so far (nothing to do outside a request): for a
        request that waits for what a worker does with its records (an export it enqueued)."""
        unit = _UNIT.get()
        if unit is not None:
            unit.commit()

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
