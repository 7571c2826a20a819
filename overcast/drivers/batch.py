"""What drivers share for batch reads."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotFound

Info = TypeVar("Info")


def get_each(get: Callable[[CallContext, str], Info], ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, Info]:
    """``get_many`` for a backend without a batch call: ``get`` each id once, leaving out the ones
    the backend does not know."""
    found: dict[str, Info] = {}
    for backend_id in dict.fromkeys(backend_ids):
        try:
            found[backend_id] = get(ctx, backend_id)
        except NotFound:
            continue
    return found
