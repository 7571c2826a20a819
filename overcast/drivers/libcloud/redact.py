"""No provider key or secret in libcloud's own debug log.

Libcloud's debug logging (``LIBCLOUD_DEBUG=/path`` or ``libcloud.enable_debug(file)``) writes
every request as a curl command line and every answer, headers included: an EC2 request's
``Authorization`` names the access key, an OpenStack one carries ``X-Auth-Token`` and Keystone's
password body. When that logging is on, the driver wraps libcloud's log file in
:class:`RedactingLog`, which replaces every configured key and secret, and the values of those
headers and password fields, with ``***`` before a line is written.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

MASK = "***"
_PATTERNS = (
    # curl -H "Authorization: ..." / a response's header lines
    re.compile(r"(?i)((?:authorization|x-auth-token|x-subject-token|x-amz-security-token)\s*:\s*)[^\"'\r\n]+"),
    # JSON bodies: Keystone's password, an EC2 style secret
    re.compile(r'(?i)("(?:password|secret|token)"\s*:\s*")[^"]*(")'),
    # query strings (SigV2's Signature, a token in a URL)
    re.compile(r"(?i)((?:Signature|AWSAccessKeyId|X-Amz-Credential|X-Amz-Signature|X-Amz-Security-Token)=)[^&\s\"']+"),
)
_lock = threading.Lock()
_secrets: set[str] = set()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and credential-bearing header value masked."""
    with _lock:
        values = sorted(_secrets | set(secrets), key=len, reverse=True)
    for value in values:
        if value:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.lastindex and m.lastindex > 1 else ""),
                           text)
    return text


class RedactingLog:
    """A file-like wrapper: what libcloud writes reaches the file redacted."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact(text))

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()


def protect_debug_log(secrets: Iterable[str]) -> None:
    """Register ``secrets`` and, if libcloud's debug log is on, make sure it is redacted."""
    with _lock:
        _secrets.update(s for s in secrets if s)
    from libcloud.utils.loggingconnection import LoggingConnection

    with _lock:
        log = LoggingConnection.log
        if log is not None and not isinstance(log, RedactingLog):
            LoggingConnection.log = RedactingLog(log)
