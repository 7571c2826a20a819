"""Waiting for what the network operations do after a request answered (never a fixed sleep), and
watching what the ORM loads while a request runs."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

from sqlalchemy import event, func, select

from overcast.core.network import SYNC
from overcast.ops.models import PENDING, RUNNING, Operation


def settle(cloud, timeout: float = 20.0) -> None:  # noqa: ANN001
    """Wait until no ``network.sync`` operation is pending or running."""
    deadline = time.monotonic() + timeout
    while True:
        with cloud.app.network.store.session() as session:
            busy = session.scalar(select(func.count()).select_from(Operation).where(
                Operation.kind == SYNC, Operation.state.in_((PENDING, RUNNING))))
        if not busy:
            return
        if time.monotonic() >= deadline:
            with cloud.app.network.store.session() as session:
                left = [(o.resource_type, o.resource_id, o.state, o.polls, o.error, o.checkpoint) for o in session.scalars(
                    select(Operation).where(Operation.kind == SYNC, Operation.state.in_((PENDING, RUNNING))))]
            raise AssertionError(f"network operations still unfinished after {timeout}s: {left}")
        time.sleep(0.02)


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Call ``check`` until it returns something truthy (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.02)


def wait_status(net, token: str, path: str, member: str, status: str) -> dict:  # noqa: ANN001
    """GET ``path`` until the ``member``'s status is ``status``; the member."""
    def check() -> dict | None:
        code, body = net("GET", path, token)
        assert code == 200, body
        return body[member] if body[member]["status"] == status else None

    return eventually(check, what=f"{path} {status}")


@contextlib.contextmanager
def loaded(model: type) -> Iterator[list]:
    """The ``model`` records the ORM builds from rows while the block runs."""
    seen: list = []

    def count(target, context) -> None:  # noqa: ANN001
        seen.append(target)

    event.listen(model, "load", count)
    try:
        yield seen
    finally:
        event.remove(model, "load", count)
