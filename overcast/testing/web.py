"""A loopback HTTP server serving fixed bytes at fixed paths, for tests that make Overcast fetch a URL."""

from __future__ import annotations

import http.server
import threading
from typing import Self


class FileServer:
    """Serves ``GET path`` (and ``HEAD path``) with ``files[path]`` (404 for any other path) on 127.0.0.1 at a free port,
    from construction until :meth:`stop`; also a context manager that stops it on exit.

    ``files`` may be changed while the server runs; ``url`` is ``http://127.0.0.1:PORT``, no trailing slash.
    ``redirects`` maps a path to the URL a ``302`` sends the client to.
    ``requests`` lists every request received as ``(path, headers)``, oldest first.
    """

    def __init__(self, files: dict[str, bytes] | None = None):
        self.files: dict[str, bytes] = {} if files is None else files
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        served, moved, seen = self.files, self.redirects, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self._answer(body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(body=False)

            def _answer(self, body: bool) -> None:
                seen.append((self.path, dict(self.headers.items())))
                if self.path in moved:
                    self.send_response(302)
                    self.send_header("Location", moved[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = served.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
