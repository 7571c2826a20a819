"""Operation records: every create, action and delete the API accepts, until a worker finishes it.

``os-instance-actions`` is rendered from :class:`Operation` (one per user action) and
:class:`OperationEvent` (one per attempt a worker made), so these rows are kept after they finish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.store.models import Base, new_id, utcnow

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

#: States a worker may still claim (``running`` only once its lease has expired).
ACTIVE_STATES = (PENDING, RUNNING)
TERMINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)


class Operation(Base):
    """One unit of durable work for a worker.

    Claiming rule: a row is due when ``state`` is pending or running and ``next_attempt_at`` is
    past. While a worker holds the lease, ``next_attempt_at`` equals ``lease_expires_at``, so a
    worker that dies leaves a row that becomes due again when its lease runs out; one index on
    ``(state, next_attempt_at)`` serves both cases.
    """

    __tablename__ = "operation"
    __table_args__ = (
        Index("ix_operation_due", "state", "next_attempt_at"),
        Index("ix_operation_resource", "resource_type", "resource_id", "created_at"),
        Index("ix_operation_request", "request_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    #: handler name, e.g. "server.build"
    kind: Mapped[str] = mapped_column(String(64))
    #: the configured cloud (region name) whose driver does the work
    cloud: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    #: Nova's instance-action name ("create", "reboot", "delete", ...); "" when not user-visible
    action: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: passed to the driver so a re-run create finds what an earlier attempt made
    idempotency_key: Mapped[str] = mapped_column(String(64))

    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    #: runs started against the retry budget (poll continuations do not count)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    #: times the handler asked to be called again later (asynchronous backends)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    #: 1 while the handler is in its poll phase (the next claim continues, not retries)
    polling: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: after this, a poll_again or a wait behind an open breaker fails the operation
    deadline_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    #: handler-owned state that survives retries and crashes (e.g. the backend id once known)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None, nullable=True)
    #: a one-line message, never a traceback
    error: Mapped[str | None] = mapped_column(Text)
    #: exception class name ("Unavailable", "BuildFailed", "Timeout", "CloudUnavailable", ...)
    error_kind: Mapped[str | None] = mapped_column(String(64))

    request_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: first time a worker picked it up
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


class OperationEvent(Base):
    """One run of an operation by a worker: Nova's instance action event."""

    __tablename__ = "operation_event"
    __table_args__ = (Index("ix_operation_event_operation", "operation_id", "start_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_id: Mapped[str] = mapped_column(String(64), ForeignKey("operation.id", ondelete="CASCADE"))
    #: Nova's event name, e.g. "compute__do_build_and_run_instance"
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: "Success" or "Error" once finished (Nova's values); None while running
    result: Mapped[str | None] = mapped_column(String(16))
    #: a one-line message (Nova's event "details"), never a traceback
    message: Mapped[str | None] = mapped_column(Text)
    #: the worker that ran it (Nova's "host")
    host: Mapped[str | None] = mapped_column(String(255))


class OpsLease(Base):
    """A named lease shared by all processes: one reconciler (or other singleton) at a time."""

    __tablename__ = "ops_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: when the holder last finished a full run (for status output)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
