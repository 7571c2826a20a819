"""The unmodified ``openstack`` CLI without paying its Python start-up on every command.

Each ``openstack`` run costs 1.5-3 s on a loaded 2-core machine before it sends a request, almost all
of it importing openstackclient, osc-lib, cliff, cmd2, openstacksdk and the command plugins. The live
tests run hundreds of commands, so the CLI's start-up was a large part of the suite's time.

``python tests/forked_cli.py SOCKET`` is a fork server: it imports the CLI and its command plugins once,
then for each request on the Unix socket ``SOCKET`` forks a child that runs ``openstackclient.shell.main``
(what the ``openstack`` console script runs) with the request's arguments, environment and working
directory, stdin from /dev/null and stdout/stderr into the caller's files, and answers the exit status.
Every command is still a process of its own running the unmodified client: nothing of one command's
state (tokens, sessions, caches) reaches the next, and a command that fails exits non-zero as before.

:class:`OpenStackCLI` is :class:`overcast.testing.live.OpenStackCLI` with ``run`` going through the
per-worker fork server (started on first use, stopped at exit by its PID); ``OVERCAST_TEST_CLI_FORK=0``
runs every command as a fresh ``openstack`` process instead.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from overcast.testing.live import CLIError, LiveServerError
from overcast.testing.live import OpenStackCLI as _SpawningCLI


def _preload() -> None:
    """Import what every ``openstack`` command imports, and every command plugin it may load."""
    import importlib.metadata

    import openstackclient.shell

    openstackclient.shell.OpenStackShell()  # builds the command manager: reads the entry points
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group.startswith("openstack.") or ep.group == "cliff.formatter.list" or \
                    ep.group == "cliff.formatter.show" or ep.group == "keystoneauth1.plugin":
                try:
                    ep.load()
                except Exception:  # noqa: BLE001 - a plugin that cannot load fails in the child as it would alone
                    pass


def _child(conn: socket.socket) -> None:
    """In the forked child: run one ``openstack`` command for the request on ``conn``; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stream = conn.makefile("rwb")
        request = json.loads(stream.readline())
        stream.write(f"{os.getpid()}\n".encode())
        stream.flush()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, fd)
            os.close(out)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        from openstackclient.shell import main

        try:
            result = main(sys.argv[1:])
            code = result if isinstance(result, int) else (0 if result is None else 1)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - reported as the console script would: traceback, exit 1
            import traceback

            traceback.print_exc()
            code = 1
        for stream_ in (sys.stdout, sys.stderr):
            try:
                stream_.flush()
            except Exception:  # noqa: BLE001
                pass
        stream.write(f"{code}\n".encode())
        stream.flush()
    finally:
        os._exit(0)


def serve(path: str, executable: str) -> None:
    """The fork server's loop: accept, fork, repeat; exit when the caller closes our stdin."""
    sys.argv = [executable]  # cliff names the program from sys.argv[0] when it is imported
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            return  # the pytest worker is gone
        if listener in readable:
            conn, _ = listener.accept()
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                listener.close()
                _child(conn)
            conn.close()


class ForkServer:
    """One fork server process (started lazily, stopped by PID at interpreter exit)."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.python = str(Path(executable).parent / "python")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.path = ""

    def ensure(self) -> str:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self.path
            self._dir = tempfile.TemporaryDirectory(prefix="overcast-cli-")
            self.path = os.path.join(self._dir.name, "fork.sock")
            env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
            log = open(os.path.join(self._dir.name, "server.log"), "wb")  # noqa: SIM115
            self._proc = subprocess.Popen([self.python, "-P", __file__, self.path, self.executable], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=log, env=env)
            log.close()
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if line.strip() != b"ready":
                self.stop()
                raise LiveServerError("the openstack CLI fork server did not start")
            atexit.register(self.stop)
            return self.path

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # the server exits on EOF
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


_SERVERS: dict[str, ForkServer] = {}


def _server_for(executable: str) -> ForkServer:
    if executable not in _SERVERS:
        _SERVERS[executable] = ForkServer(executable)
    return _SERVERS[executable]


def fork_enabled() -> bool:
    return os.environ.get("OVERCAST_TEST_CLI_FORK", "1") != "0"


class OpenStackCLI(_SpawningCLI):
    """:class:`overcast.testing.live.OpenStackCLI`, each command a child of the fork server."""

    def using(self, cloud: str, clouds_yaml: str | os.PathLike[str] | None = None) -> "OpenStackCLI":
        return OpenStackCLI(clouds_yaml or self.clouds_yaml, cloud, self.executable, self.timeout)

    def run(self, *args: str, cloud: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        if not fork_enabled():
            return super().run(*args, cloud=cloud, check=check, env=env)
        argv = self.argv(args, cloud)
        full_env = self.env()
        full_env.update(env or {})
        path = _server_for(self.executable).ensure()
        with tempfile.TemporaryDirectory(prefix="overcast-cli-run-") as tmp:
            out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
            request = {"argv": argv, "env": full_env, "cwd": os.getcwd(), "stdout": out, "stderr": err}
            returncode = self._exchange(path, argv, request)
            stdout = Path(out).read_text(errors="replace") if os.path.exists(out) else ""
            stderr = Path(err).read_text(errors="replace") if os.path.exists(err) else ""
        if returncode is None:
            raise CLIError(argv, -1, stdout, "(the forked openstack process died without an exit status)\n"
                           + stderr)
        proc = subprocess.CompletedProcess(argv, returncode, stdout, stderr)
        if check and returncode != 0:
            raise CLIError(argv, returncode, stdout, stderr)
        return proc

    def _exchange(self, path: str, argv: list[str], request: dict[str, object]) -> int | None:
        """Send ``request``; the child's exit status, or None when it died without one."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.settimeout(self.timeout)
            stream = conn.makefile("rwb")
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            pid_line = stream.readline()
            try:
                status = stream.readline()
            except TimeoutError:
                if pid_line.strip():
                    try:
                        os.kill(int(pid_line), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                raise subprocess.TimeoutExpired(argv, self.timeout) from None
            finally:
                stream.close()
        return int(status) if status.strip() else None


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
