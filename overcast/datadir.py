"""The data directory is private (docs/decisions/0029-secrets-at-rest.md).

It holds the database, the Fernet and credential keys, the generated passwords, clouds.yaml, image
data and the drivers' own state: only the user running Overcast may read any of it. Commands that
use it call :func:`make_private` first: the directory becomes 0700, every file in it 0600 (an older
install's 0644 database included), and the process's umask becomes 077, so whatever Overcast or a
driver creates there later (a WAL file, a driver's SQLite file, an uploaded image) is private too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
#: what marks a directory as an Overcast data directory (only those are tightened file by file)
_MARKERS = ("overcast.db", "fernet-keys", "credential-keys", "clouds.yaml")


def make_private(data_dir: Path, create: bool = True) -> None:
    """Make ``data_dir`` and everything in it private (created first unless ``create`` is false:
    a command that may not need one, such as a read-only one, leaves a missing one missing); files
    created by this process from now on are private as well (umask 077)."""
    os.umask(0o077)
    if create:
        data_dir.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    elif not data_dir.is_dir():
        return
    _tighten(data_dir, DIRECTORY_MODE)
    if not any((data_dir / marker).exists() for marker in _MARKERS):
        return  # an empty directory, or not ours: never walk a directory Overcast did not fill
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            _tighten(Path(root) / name, DIRECTORY_MODE)
        for name in files:
            _tighten(Path(root) / name, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    if stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
