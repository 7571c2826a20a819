"""Token revocation events, and a per-node cache of them so validation needs no database read.

Each node keeps the current events in memory and reloads them when its copy is older than
``cache_seconds``, or at once when a node on this machine revoked something (a stamp file in
the data directory changes). Nodes on other machines see a revocation within ``cache_seconds``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sqlalchemy import delete, select

from overcast.core.context import AuthContext
from overcast.store.db import Store
from overcast.store.models import RevocationEvent

_FIELDS = ("user_id", "project_id", "domain_id", "audit_id", "audit_chain_id")


class RevocationChecker:
    def __init__(self, store: Store, stamp_file: Path, cache_seconds: float, max_token_lifetime: int):
        self.store = store
        self.stamp_file = Path(stamp_file)
        self.cache_seconds = cache_seconds
        self.max_token_lifetime = max_token_lifetime
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._stamp: int | None = None
        # field name -> value -> latest issued_before among events keyed by that one field;
        # events naming several fields are kept whole in _compound.
        self._single: dict[str, dict[str, float]] = {f: {} for f in _FIELDS}
        self._compound: list[tuple[dict[str, str], float]] = []

    def _current_stamp(self) -> int | None:
        try:
            return self.stamp_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _refresh(self) -> None:
        now = time.monotonic()
        stamp = self._current_stamp()
        if now - self._loaded_at < self.cache_seconds and stamp == self._stamp:
            return
        with self._lock:
            horizon = time.time() - self.max_token_lifetime
            with self.store.session() as session:
                events = session.scalars(select(RevocationEvent).where(RevocationEvent.issued_before >= horizon)).all()
            single: dict[str, dict[str, float]] = {f: {} for f in _FIELDS}
            compound: list[tuple[dict[str, str], float]] = []
            for event in events:
                fields = {f: getattr(event, f) for f in _FIELDS if getattr(event, f) is not None}
                if len(fields) == 1:
                    (name, value), = fields.items()
                    single[name][value] = max(single[name].get(value, 0.0), event.issued_before)
                elif fields:
                    compound.append((fields, event.issued_before))
            self._single, self._compound = single, compound
            self._loaded_at, self._stamp = now, stamp

    def is_revoked(self, ctx: AuthContext) -> bool:
        self._refresh()
        values = {
            "user_id": ctx.user_id,
            "project_id": ctx.project_id,
            "domain_id": ctx.domain_id,
            "audit_id": ctx.audit_ids[0] if ctx.audit_ids else None,
            "audit_chain_id": ctx.audit_ids[-1] if ctx.audit_ids else None,
        }
        for name, value in values.items():
            if value is not None and ctx.issued_at <= self._single[name].get(value, -1.0):
                return True
        return any(
            ctx.issued_at <= before and all(values.get(k) == v for k, v in fields.items())
            for fields, before in self._compound
        )

    def revoke(self, **fields: str | None) -> None:
        """Revoke every token matching all given fields issued up to now; visible at once here.

        Also prunes events older than any token could be.
        """
        unknown = set(fields) - set(_FIELDS)
        if unknown or not any(fields.values()):
            raise ValueError(f"revocation needs one of {_FIELDS}; got {sorted(fields)}")
        now = time.time()
        with self.store.session() as session:
            session.add(RevocationEvent(issued_before=now, revoked_at=now,
                                        **{k: v for k, v in fields.items() if v is not None}))
            session.execute(delete(RevocationEvent).where(
                RevocationEvent.issued_before < now - self.max_token_lifetime))
        self.touch()

    def touch(self) -> None:
        """Tell every node on this machine to reload now."""
        self.stamp_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stamp_file, "a"):
            pass
        os.utime(self.stamp_file, ns=(time.time_ns(), time.time_ns()))
        self._loaded_at = 0.0
