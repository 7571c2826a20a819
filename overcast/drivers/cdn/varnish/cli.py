"""A client for varnishd's management CLI (varnish-cli(7)): what ``varnishadm`` speaks.

Overcast talks the protocol itself rather than running ``varnishadm`` because it needs each
command's status: in pipe mode ``varnishadm`` exits 0 even when a VCL fails to compile, and in
argument mode it joins its arguments unquoted, so a VCL cannot be passed that way. The protocol is
small: a status line (``"%-3d %-8d\\n"``: status and body length), the body and a newline; the server
starts with a 107 challenge, answered with ``auth sha256(challenge \\n secret challenge \\n)``;
arguments are double-quoted with C escapes, and a VCL goes as a here-document.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

from overcast.drivers.errors import DriverError, InvalidRequest, Unavailable

CLIS_OK = 200
CLIS_AUTH = 107
CLIS_CANT = 300


class CliError(DriverError):
    """varnishd answered a command with a status other than 200."""

    def __init__(self, status: int, body: str):
        super().__init__(f"varnishd answered {status}: {body.strip()}")
        self.status = status
        self.body = body


def quote(arg: str) -> str:
    """A CLI word: as it is when it needs no quoting (the ``ban`` command re-reads its words and
    refuses some quoted ones, e.g. ``"=="``), else double-quoted with C escapes."""
    if arg and not any(c.isspace() or c in '"\\{}' for c in arg):
        return arg
    out = ['"']
    for ch in arg:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class VarnishCli:
    """One authenticated connection to varnishd's ``-T`` address, reopened when it drops.
    Thread-safe (one command at a time)."""

    def __init__(self, address: str, secret_file: Path | None, timeout: float = 10.0):
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]") or "127.0.0.1", int(port)
        self.secret_file = secret_file
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    # -- wire -------------------------------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        assert self._sock is not None
        while len(self._buffer) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("varnishd closed the CLI connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _response(self) -> tuple[int, str]:
        head = self._read_exact(13)
        status, length = int(head[:3]), int(head[4:12])
        body = self._read_exact(length + 1)[:-1]
        return status, body.decode("utf-8", "replace")

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._sock, self._buffer = sock, b""
        status, body = self._response()
        if status == CLIS_AUTH:
            if self.secret_file is None:
                raise DriverError("varnishd asks for authentication and no secret file is configured")
            challenge = body[:32]
            secret = Path(self.secret_file).read_bytes()
            digest = hashlib.sha256(challenge.encode() + b"\n" + secret + challenge.encode() + b"\n").hexdigest()
            sock.sendall(f"auth {digest}\n".encode())
            status, body = self._response()
        if status != CLIS_OK:
            self.close()
            raise DriverError(f"varnishd refused the CLI connection ({status}): {body.strip()}")

    def _send(self, line: bytes) -> tuple[int, str]:
        if self._sock is None:
            self._connect()
        assert self._sock is not None
        self._sock.sendall(line)
        return self._response()

    def call(self, *words: str, heredoc: str | None = None) -> str:
        """Run one command; returns its answer.

        :raises CliError: varnishd answered another status (a VCL that does not compile is an
            :class:`InvalidRequest`). :raises Unavailable: varnishd cannot be reached.
        """
        line = " ".join([words[0], *(quote(w) for w in words[1:])])
        if heredoc is not None:
            marker = "__OVERCAST_EOF__"
            if marker in heredoc:
                raise InvalidRequest("the VCL contains the here-document marker")
            line += f" << {marker}\n{heredoc}\n{marker}"
        payload = (line + "\n").encode()
        with self._lock:
            for attempt in (1, 2):
                try:
                    status, body = self._send(payload)
                    break
                except (OSError, ConnectionError) as exc:
                    self.close()
                    if attempt == 2:
                        raise Unavailable(f"varnishd's CLI at {self.host}:{self.port} did not answer: {exc}") \
                            from None
        if status != CLIS_OK:
            if words[0] in ("vcl.inline", "vcl.load") and status == 106:
                raise InvalidRequest(f"Varnish refused the configuration: {body.strip()}")
            raise CliError(status, body)
        return body

    def ping(self) -> bool:
        try:
            self.call("ping")
        except DriverError:
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock, self._buffer = None, b""
