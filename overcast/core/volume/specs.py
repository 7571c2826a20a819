"""Key-value specs of a type: a volume type's extra specs, a group type's group specs. Values are
kept as strings, as Cinder keeps them."""

from __future__ import annotations

from typing import Any, Mapping

from overcast.core.errors import NotFound


def merge(record: Any, attribute: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Add or change ``values`` in ``record.<attribute>``; returns all the specs."""
    setattr(record, attribute, {**(getattr(record, attribute) or {}), **{k: str(v) for k, v in values.items()}})
    return dict(getattr(record, attribute))


def item(record: Any, attribute: str, key: str, missing: str) -> str:
    """One spec. :raises NotFound: no such key (``missing`` is the message)."""
    try:
        return (getattr(record, attribute) or {})[key]
    except KeyError:
        raise NotFound(missing) from None


def remove(record: Any, attribute: str, key: str, missing: str) -> None:
    """Drop one spec. :raises NotFound: no such key (``missing`` is the message)."""
    item(record, attribute, key, missing)
    setattr(record, attribute, {k: v for k, v in getattr(record, attribute).items() if k != key})
