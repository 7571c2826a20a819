"""The small typed context every driver call receives (who asked, for what, until when)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    """Who a driver call is made for, and its limits.

    Drivers use it to tag what they create (``project_id``, so a backend shared by many Overcast
    projects can tell them apart), to make creates idempotent (``idempotency_key``: a retried call
    finds what an earlier attempt made), to log with the ``request_id`` of the API call that caused
    the work, and to bound their own waits (``deadline``, UTC; ``None``: no limit beyond the
    engine's timeout). It never carries a token or a password.
    """

    project_id: str | None = None
    user_id: str | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    deadline: dt.datetime | None = None

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        """Seconds until the deadline (never negative), or ``None`` without one."""
        if self.deadline is None:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        deadline = self.deadline if self.deadline.tzinfo else self.deadline.replace(tzinfo=dt.timezone.utc)
        return max(0.0, (deadline - now).total_seconds())
