"""What ``overcast serve`` needs around the WSGI server: a free port, a locked data directory, and a
stop that is quick and finishes the requests in flight (docs/decisions/0034-serving.md).

- :func:`check_port` binds the address the way a second listener would (no ``SO_REUSEPORT``), so a
  second server on a port already served fails with "address in use" instead of sharing it.
- :class:`DataDirLock` is an exclusive ``flock`` on ``<data-dir>/serve.lock`` held by the serving
  process for its life; the file says who holds it (pid, URL, start time) for ``overcast status``.
- :class:`Drain` runs in each server process: it counts requests in flight and, on SIGINT or SIGTERM,
  waits for them (at most ``grace`` seconds), stops the process's operation workers and ends the
  process, so connections a client keeps open (a browser's, an SDK session's) never hold a stop up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

LOG = logging.getLogger(__name__)

LOCK_NAME = "serve.lock"


class ServeError(Exception):
    """``overcast serve`` cannot start: the port is taken or the data directory is in use."""


def check_port(host: str, port: int) -> None:
    """:raises ServeError: something listens on ``host:port`` already ("address in use")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"cannot listen on {host}:{port}: address in use "
                                 f"(another overcast serve? see `overcast status`)") from None
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


class DataDirLock:
    """An exclusive lock on a data directory, with who holds it written inside."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, **info: Any) -> None:
        """:raises ServeError: another process holds it (the message names its pid and URL)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = read_lock(self.path.parent) or {}
            os.close(fd)
            raise ServeError(f"data directory {self.path.parent.resolve()} is in use by another overcast serve "
                             f"(pid {holder.get('pid', '?')}, {holder.get('url', 'URL unknown')}); stop it first "
                             f"or pass another --data-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": time.time(), **info}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def read_lock(data_dir: Path) -> dict[str, Any] | None:
    """Who serves ``data_dir`` now (pid, url, started), or None when no server holds its lock."""
    path = Path(data_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # held: someone serves it
            text = path.read_text()
            try:
                return json.loads(text) if text else {}
            except ValueError:
                return {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class _Counted:
    """A WSGI body that tells the drain when the server has finished with it (``close()``)."""

    __slots__ = ("_body", "_done", "__iter__")

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]):
        self._body = body
        self._done = done
        self.__iter__ = body.__iter__  # type: ignore[method-assign]

    def close(self) -> None:
        try:
            closer = getattr(self._body, "close", None)
            if closer is not None:
                closer()
        finally:
            self._done()


class Drain:
    """Counts requests in flight in one server process and ends the process soon after a stop signal.

    :param app: the WSGI application to wrap (:meth:`__call__` serves it).
    :param on_stop: called once the requests in flight are done, with the seconds left of ``grace``
        (at least a fifth of a second): stop the operation workers there.
    :param grace: seconds to wait for requests in flight and ``on_stop`` together.
    :param settle: seconds left for the server to write the last bytes before the process ends.
    """

    def __init__(self, app: Callable[..., Any], on_stop: Callable[[float], None] = lambda left: None, *,
                 grace: float = 1.5, settle: float = 0.05):
        self.app = app
        self.on_stop = on_stop
        self.grace = grace
        self.settle = settle
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.in_flight = 0
        self.stopping = False

    def _begin(self) -> None:
        with self._lock:
            self.in_flight += 1

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.notify_all()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._begin()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._end()
            raise
        return _Counted(body, self._end)

    def install(self) -> None:
        """Watch for SIGINT/SIGTERM in this process without replacing anyone's handler.

        Python writes the number of every signal it handles to the wakeup fd; the server installs
        its own handlers for these two (to start its graceful stop), and this thread sees them too.
        Must be called from the main thread.
        """
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        if previous != -1:  # someone else's wakeup fd: leave it, and rely on the parent's kill timeout
            signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
            LOG.warning("a signal wakeup fd is already set; a stop will wait for open connections")
            return
        watched = {signal.SIGINT, signal.SIGTERM}
        for sig in watched:  # a handler must be set for the number to be written
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.SIG_IGN, None):
                signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else _raise_exit)

        def watch() -> None:
            while True:
                try:
                    data = os.read(read_fd, 64)
                except InterruptedError:
                    continue
                if not data:
                    return
                if any(b in watched for b in data):
                    self.stop()
                    return

        threading.Thread(target=watch, name="overcast-drain", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self, exit_process: bool = True) -> None:
        """Finish requests in flight (at most ``grace`` s), call ``on_stop``, end the process."""
        self.stopping = True
        began = time.monotonic()
        LOG.info("stopping: %d request(s) in flight", self.in_flight)
        finished = self.wait_idle(self.grace)
        if not finished:
            LOG.warning("stopping with %d request(s) still in flight after %.1f s", self.in_flight, self.grace)
        try:
            self.on_stop(max(0.2, self.grace - (time.monotonic() - began)))
        except Exception:  # noqa: BLE001 - the process ends either way
            LOG.exception("error while stopping")
        LOG.info("stopped in %.2f s", time.monotonic() - began)
        if exit_process:
            time.sleep(self.settle)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(0)


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)
