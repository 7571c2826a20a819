"""First start: the volume types DevStack has (``__DEFAULT__`` and ``lvmdriver-1``, the default).
Default quotas need no rows: they are :data:`overcast.core.volume.quotas.DEFAULTS`."""

from __future__ import annotations

from overcast.core.volume import VolumeCore
from overcast.core.volume import types


def seed(core: VolumeCore) -> None:
    """Idempotent."""
    with core.store.session() as session:
        types.seed(session)
