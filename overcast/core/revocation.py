"""Token revocation events, and a per-node cache of them so validation needs no database read.

Each node keeps the current events in memory and reloads them when its copy is older than
``cache_seconds``, or at once when a node on this machine revoked something (a stamp file in
the data directory changes). Nodes on other machines see a revocation within ``cache_seconds``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from overcast.core.cache import StampedCache
from overcast.core.context import AuthContext
from overcast.store.db import Store
from overcast.store.models import RevocationEvent

_FIELDS = ("user_id", "project_id", "domain_id", "audit_id", "audit_chain_id", "app_cred_id", "trust_id",
           "access_token_id")

#: Revocation events to record, each the keyword arguments of :meth:`RevocationChecker.revoke`.
#: Rules functions return them so the caller records them after its own change has committed.
Revocations = list[dict[str, str | None]]

#: verdicts kept per copy of the events (the token decoder keeps as many contexts)
_VERDICTS = 4096


@dataclass(frozen=True)
class _Events:
    #: field name -> value -> latest issued_before among events naming only that field
    single: dict[str, dict[str, float]]
    #: events naming several fields, kept whole
    compound: list[tuple[dict[str, str], float]]
    #: id(token context) -> (the context, revoked?), for this copy of the events only
    verdicts: dict[int, tuple[AuthContext, bool]] = field(default_factory=dict, compare=False)


class RevocationChecker:
    def __init__(self, store: Store, stamp_file: Path, cache_seconds: float, max_token_lifetime: int):
        self.store = store
        self.max_token_lifetime = max_token_lifetime
        self._events = StampedCache(stamp_file, cache_seconds, self._load)

    def _load(self) -> _Events:
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
        return _Events(single, compound)

    def is_revoked(self, ctx: AuthContext) -> bool:
        events = self._events.get()
        # the verdict is a function of the events and the token alone: kept with this copy of the
        # events (a reload, after any revocation on this machine, starts afresh). The token decoder
        # hands out one AuthContext per token, so a token presented again is one dict lookup.
        verdicts = events.verdicts
        verdict = verdicts.get(id(ctx))
        if verdict is not None and verdict[0] is ctx:
            return verdict[1]
        revoked = self._revoked(events, ctx)
        if len(verdicts) >= _VERDICTS:
            verdicts.clear()
        verdicts[id(ctx)] = (ctx, revoked)
        return revoked

    @staticmethod
    def _revoked(events: _Events, ctx: AuthContext) -> bool:
        values = {
            "user_id": ctx.user_id,
            "project_id": ctx.project_id,
            "domain_id": ctx.domain_id,
            "audit_id": ctx.audit_ids[0] if ctx.audit_ids else None,
            "audit_chain_id": ctx.audit_ids[-1] if ctx.audit_ids else None,
            "app_cred_id": ctx.app_cred_id,
            "trust_id": ctx.trust_id,
            "access_token_id": ctx.access_token_id,
        }
        for name, value in values.items():
            if value is not None and ctx.issued_at <= events.single[name].get(value, -1.0):
                return True
        return any(
            ctx.issued_at <= before and all(values.get(k) == v for k, v in fields.items())
            for fields, before in events.compound
        )

    def revoke(self, **fields: str | None) -> None:
        """Revoke every token matching all given fields issued up to now; visible at once here.

        :raises ValueError: no field, or one revocation cannot match on.
        """
        self.revoke_all([fields])

    def revoke_all(self, events: Revocations) -> None:
        """Record several revocations in one transaction; also prunes events no token can match.

        :raises ValueError: an event with no field, or one revocation cannot match on.
        """
        events = [{k: v for k, v in e.items() if v is not None} for e in events]
        for fields in events:
            if set(fields) - set(_FIELDS) or not fields:
                raise ValueError(f"revocation needs one of {_FIELDS}; got {sorted(fields)}")
        if not events:
            return
        now = time.time()
        with self.store.session() as session:
            session.add_all(RevocationEvent(issued_before=now, revoked_at=now, **fields) for fields in events)
            session.execute(delete(RevocationEvent).where(
                RevocationEvent.issued_before < now - self.max_token_lifetime))
        self._events.invalidate()
