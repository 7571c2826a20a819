"""Logging set-up: every line carries the request id; secrets never reach a log line."""

from __future__ import annotations

import contextvars
import logging
import sys

from overcast.redact import mask

#: The current request id (an API request's, or the one a worker runs an operation for).
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


class MaskingFormatter(logging.Formatter):
    """Formats as usual, then masks tokens, passwords and secrets in the whole line (message,
    arguments and traceback alike; see :mod:`overcast.redact`)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def handler(stream=None) -> logging.Handler:  # noqa: ANN001
    """A handler writing Overcast's lines: request id on each, secrets masked."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.setFormatter(MaskingFormatter(FORMAT))
    made.addFilter(RequestIdFilter())
    return made


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [handler()]
    root.setLevel(level.upper())
