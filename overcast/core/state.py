"""A data directory's state: reset to what the first start made, saved and loaded by name, while
servers run (docs/decisions/0035-reset-and-saved-states.md).

A state is three things, kept under ``<data-dir>/states/<name>/``:

- ``database.msgpack``: every row of Overcast's database (SQLite or PostgreSQL), see
  :mod:`overcast.store.snapshot`;
- ``sqlite/<path>``: a copy of each SQLite database a driver keeps in the data directory (the local
  cloud's hypervisor, volumes and networks; a second region's under ``clouds/<region>/``), taken and
  put back with SQLite's online backup (never linked: SQLite writes its files in place);
- ``files/<dir>/...``: the files of every other directory of the data directory (image data, volume
  bytes), as hard links: Overcast and its drivers write such files once and replace them by rename,
  so a link keeps the bytes of the moment it was taken.

What is not state and never changes: keys, generated passwords, clouds.yaml, the configuration.
``_bootstrap`` is the state the first start saves; :func:`reset` loads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from overcast.config import Settings
from overcast.core import faults
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.store import snapshot
from overcast.store.db import Store

LOG = logging.getLogger(__name__)

BOOTSTRAP = "_bootstrap"
STATES = "states"
#: directories of a data directory that are never state
KEPT_DIRS = {STATES, "fernet-keys", "credential-keys", "metrics"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: drivers whose whole state lives in the data directory (and none elsewhere to leave behind)
RESETTABLE_DRIVERS = {"local", "noop"}
#: touched after a reset or load: every per-process cache built on a stamp file reloads
STATE_STAMP = "state.stamp"


@dataclass(frozen=True)
class StateInfo:
    name: str
    saved_at: float
    rows: int


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _main_database(settings: Settings) -> Path | None:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).resolve()
    return None


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _sqlite_owned(path: Path) -> bool:
    """A SQLite database or one of its side files: copied by backup, never linked or unlinked."""
    return path.name.endswith(_SQLITE_SIDE_FILES) or _is_sqlite(path)


def _sqlite_files(settings: Settings) -> list[Path]:
    """SQLite databases drivers keep in the data directory, at its top or in its state
    directories (a region's driver directory ``clouds/<region>/``); not Overcast's own."""
    main = _main_database(settings)
    top = [p for p in settings.data_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    nested = [p for d in _state_dirs(settings) for p in d.rglob("*") if p.is_file()]
    return sorted(p for p in top + nested
                  if p.resolve() != main and not p.name.endswith(_SQLITE_SIDE_FILES) and _is_sqlite(p))


def _state_dirs(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.data_dir.iterdir()
                  if p.is_dir() and p.name not in KEPT_DIRS and not p.name.startswith("."))


def check_name(name: str) -> str:
    """:raises Invalid: not a name a state may have (letters, digits, ``.``, ``_``, ``-``; 64 at most)."""
    if not _NAME.match(name or ""):
        raise Invalid(f"Invalid state name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
                      f"starting with a letter or digit.")
    return name


def check_drivers(settings: Settings) -> None:
    """:raises Conflict: a cloud keeps resources outside the data directory (they would be orphaned)."""
    remote = [f"{c.name} ({c.driver})" for c in settings.clouds if c.driver not in RESETTABLE_DRIVERS]
    if remote:
        raise Conflict(f"Cannot reset or load a state: regions {', '.join(remote)} keep resources outside the data "
                       f"directory, which a reset would leave behind.")


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """One save, load or reset at a time per data directory (across processes)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / "state.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _link_tree(source: Path, target: Path) -> None:
    """Make ``target`` hold the files of ``source`` (hard links where possible), and nothing else;
    SQLite databases on either side are left to :func:`_backup`."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = ({p.relative_to(source) for p in source.rglob("*") if p.is_file() and not _sqlite_owned(p)}
              if source.exists() else set())
    for path in sorted(target.rglob("*"), reverse=True):
        rel = path.relative_to(target)
        if path.is_file() and rel not in wanted and not _sqlite_owned(path):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()) and not any(w.parts[:len(rel.parts)] == rel.parts
                                                                    for w in wanted):
            path.rmdir()
    for rel in sorted(wanted):
        src, dst = source / rel, target / rel
        if dst.exists() and os.path.samefile(src, dst):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.state-tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)


def _backup(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with SQLite's online backup (safe while in use)."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst:
        src.backup(dst)


def _stamp(settings: Settings) -> None:
    """Make every process's stamped caches reload (catalog, revocations, rendered views)."""
    now = time.time_ns()
    for path in [*settings.data_dir.glob("*.stamp"), settings.data_dir / STATE_STAMP]:
        with open(path, "a"):
            pass
        os.utime(path, ns=(now, now))


def _state_dir(settings: Settings, name: str) -> Path:
    return settings.data_dir / STATES / name


def save(settings: Settings, store: Store, name: str, *, internal: bool = False) -> StateInfo:
    """Save the data directory's state as ``name`` (replacing a state of that name)."""
    if not internal:
        check_name(name)
    with _locked(settings):
        final = _state_dir(settings, name)
        work = final.with_name(f".{name}.saving")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        rows = snapshot.dump(store, work / "database.msgpack")
        (work / "sqlite").mkdir()
        for path in _sqlite_files(settings):
            copy = work / "sqlite" / path.relative_to(settings.data_dir)
            copy.parent.mkdir(parents=True, exist_ok=True)
            _backup(path, copy)
        for directory in _state_dirs(settings):
            _link_tree(directory, work / "files" / directory.name)
        old = final.with_name(f".{name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    LOG.info("saved state %s (%d rows)", name, rows)
    return StateInfo(name, (final / "database.msgpack").stat().st_mtime, rows)


def load(settings: Settings, store: Store, name: str, *, internal: bool = False) -> float:
    """Put the data directory back in state ``name``; returns the seconds it took.

    :raises NotFound: no such state.
    :raises Conflict: a region's driver keeps resources elsewhere; or the state was saved at another
        schema revision.
    """
    if not internal:
        check_name(name)
    check_drivers(settings)
    snapshot.metadata()  # the models' imports are not part of the load
    began = time.monotonic()
    with _locked(settings):
        source = _state_dir(settings, name)
        if not (source / "database.msgpack").exists():
            if name == BOOTSTRAP:
                raise Conflict("This data directory has no saved bootstrap state (it was made by an older "
                               "Overcast, or its schema changed since): remove the data directory to start "
                               "afresh.")
            raise NotFound(f"No saved state {name!r}.")
        try:
            snapshot.restore(store, source / "database.msgpack")
        except snapshot.SnapshotError as exc:
            raise Conflict(str(exc)) from None
        if faults.enabled(settings):  # faults made through the API go; the configuration's start again
            book = faults.FaultBook(settings, store)
            book.clear("api")
            book.sync_config()
        saved_sqlite = source / "sqlite"
        for path in _sqlite_files(settings):
            copy = saved_sqlite / path.relative_to(settings.data_dir)
            if copy.is_file():
                _backup(copy, path)
            else:  # made after the state was saved: empty every table it has
                _empty(path)
        files = source / "files"
        for directory in _state_dirs(settings):
            _link_tree(files / directory.name, directory)
        for saved in (files.iterdir() if files.exists() else ()):
            if not (settings.data_dir / saved.name).exists():
                _link_tree(saved, settings.data_dir / saved.name)
        _stamp(settings)
    took = time.monotonic() - began
    LOG.info("loaded state %s in %.3f s", name, took)
    return took


def _empty(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' AND name != 'meta'")]
        conn.execute("PRAGMA foreign_keys = OFF")
        with conn:
            for table in names:
                conn.execute(f'DELETE FROM "{table}"')


def reset(settings: Settings, store: Store) -> float:
    """Back to what the first start made (loads ``_bootstrap``); returns the seconds it took."""
    return load(settings, store, BOOTSTRAP, internal=True)


def states(settings: Settings) -> list[StateInfo]:
    """The saved states (not ``_bootstrap``), by name."""
    root = settings.data_dir / STATES
    found = []
    for path in sorted(root.iterdir()) if root.exists() else ():
        body = path / "database.msgpack"
        if path.name.startswith((".", "_")) or not body.exists():
            continue
        rows = sum(len(t["rows"]) for t in snapshot.read(body)["tables"].values())
        found.append(StateInfo(path.name, body.stat().st_mtime, rows))
    return found


def delete(settings: Settings, name: str) -> None:
    """:raises NotFound: no such state."""
    check_name(name)
    with _locked(settings):
        path = _state_dir(settings, name)
        if not path.exists():
            raise NotFound(f"No saved state {name!r}.")
        shutil.rmtree(path)
