"""Records of the testing facilities: faults injected on demand (docs/decisions/0036-faults-on-demand.md)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.store.models import Base, utcnow


class InjectedFault(Base):
    """One fault rule: which calls it matches and what it does to them."""

    __tablename__ = "injected_fault"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``api`` (made through /_overcast/faults; a reset removes it) or ``config`` (from [[faults]])
    source: Mapped[str] = mapped_column(String(16), default="api")
    #: ``fail``, ``delay``, ``unavailable`` (driver calls) or ``http``, ``truncate`` (API answers)
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(255), default="*")
    family: Mapped[str] = mapped_column(String(32), default="*")
    #: a driver method (``build``, ``delete``, ``attach_volume``), a prefix of one (``attach``) or ``*``;
    #: for ``http`` the HTTP method or ``*``
    action: Mapped[str] = mapped_column(String(64), default="*")
    #: ``http``: a named endpoint (``compute:v2_servers_detail``), a service (``compute:*``) or ``*``
    endpoint: Mapped[str | None] = mapped_column(String(255))
    #: ``fail``: calls left to fail (None: every call)
    remaining: Mapped[int | None] = mapped_column(Integer)
    #: ``fail``: the driver error raised (BuildFailed, DeleteFailed, Conflict, ...)
    error: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    #: ``delay``: seconds added to each call; ``unavailable``: how long the region is out
    seconds: Mapped[float | None] = mapped_column(Float)
    #: ``unavailable``: when it ends (seconds since the epoch)
    until: Mapped[float | None] = mapped_column(Float)
    #: ``http``: chance of each matching request being answered with ``status``; ``truncate``: of being cut
    probability: Mapped[float | None] = mapped_column(Float)
    #: ``http``: the status answered; ``truncate``: how many items the list keeps (shown as ``keep``)
    status: Mapped[int | None] = mapped_column(Integer)
    #: how many times it was applied
    injected: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
