"""A request whose transaction the database aborted to break a deadlock (PostgreSQL, against a
worker) runs again in a fresh transaction, as Neutron's API does; nothing of the aborted attempt
stays. Any other database error is the service's 500, with nothing kept either."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from overcast.api import routing
from overcast.core.network import networks


class _Aborted(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _failing_create(monkeypatch: pytest.MonkeyPatch, sqlstates: list[str]) -> list[int]:
    """networks.create makes its network (flushed), then the database aborts while ``sqlstates``
    last (one per call)."""
    real, calls = networks.create, []

    def create(core, session, ctx, body):  # noqa: ANN001, ANN202
        network = real(core, session, ctx, body)
        calls.append(1)
        if sqlstates:
            raise OperationalError("UPDATE net_network", {}, _Aborted(sqlstates.pop(0)))
        return network

    monkeypatch.setattr(networks, "create", create)
    return calls


def _named(net, token: str, name: str) -> list[dict]:  # noqa: ANN001
    status, body = net("GET", f"/networks?name={name}", token)
    assert status == 200
    return body["networks"]


def test_a_deadlocked_request_runs_again_and_keeps_one_network(cloud, net, demo_token, monkeypatch) -> None:
    calls = _failing_create(monkeypatch, ["40P01", "40001"])
    made = net.make(demo_token, "networks", "network", name="retried")
    assert len(calls) == 3
    assert [n["id"] for n in _named(net, demo_token, "retried")] == [made["id"]]


def test_a_request_the_database_keeps_aborting_is_a_500_that_keeps_nothing(cloud, net, demo_token,
                                                                           monkeypatch) -> None:
    calls = _failing_create(monkeypatch, ["40P01"] * routing.TRANSIENT_ATTEMPTS)
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "never"}})
    assert status == 500 and body["NeutronError"]["type"] == "HTTPInternalServerError"
    assert len(calls) == routing.TRANSIENT_ATTEMPTS
    assert _named(net, demo_token, "never") == []


def test_any_other_database_error_is_not_run_again(cloud, net, demo_token, monkeypatch) -> None:
    calls = _failing_create(monkeypatch, ["23505"])
    status, _ = net("POST", "/networks", demo_token, {"network": {"name": "once"}})
    assert status == 500 and len(calls) == 1
    assert _named(net, demo_token, "once") == []
