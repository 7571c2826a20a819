"""Deterministic bytes for data-path tests and benchmarks, made on the fly in bounded memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

MIB = 1024 * 1024


def generated(size: int, chunk: int = MIB) -> Iterator[bytes]:
    """``size`` bytes of a fixed pattern, in pieces of at most ``chunk`` bytes; the same on every call."""
    block = hashlib.sha512(b"overcast").digest() * (chunk // 64)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece
