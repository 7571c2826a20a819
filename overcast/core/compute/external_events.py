"""Nova's ``os-server-external-events``: what another service tells Nova about a server (Neutron
that a port changed, Cinder that a volume grew, Ironic that the power changed).

Nova accepts an event for a server that is on a host and hands it to that host; the answer has a
code per event (200 accepted, 404 unknown server, 422 no host yet, 400 ``volume-extended``
without the volume as ``tag``) and is 207 when any was refused, 404 when none was accepted.

What an accepted event does here: ``network-changed`` and ``network-vif-deleted`` refresh the
server's network info cache (its ``addresses``) from its ports, as Nova's compute does.
``volume-extended`` records the server's ``extend_volume`` action (Nova's compute tells the
guest its disk grew; the backend volume has grown already, so the action has nothing more to
do). ``network-vif-plugged``/``-unplugged`` only wake a waiting Nova build and ``power-update``
is for Ironic's servers: they are accepted and done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import networking, volumes
from overcast.core.errors import NotFound
from overcast.ops.engine import enqueue
from overcast.store.compute import Server

#: Events after which Nova's compute refreshes the server's network info cache.
REFRESHES_ADDRESSES = frozenset({"network-changed", "network-vif-deleted"})


@dataclass
class Outcome:
    """One event as Nova answers it: the event as given, its final ``status`` and ``code``."""

    event: dict[str, Any]
    status: str
    code: int

    @property
    def accepted(self) -> bool:
        return self.code == 200


def _judge(event: Mapping[str, Any], server: Server | None) -> Outcome:
    if server is None:
        return Outcome(dict(event), "failed", 404)
    if event["name"] == "volume-extended" and event.get("tag") is None:
        return Outcome(dict(event), "failed", 400)
    if not server.host:
        return Outcome(dict(event), "failed", 422)
    return Outcome(dict(event), "completed", 200)


def deliver(session: Session, events: Iterable[Mapping[str, Any]], *, region: str, request_id: str | None = None,
            user_id: str | None = None) -> list[Outcome]:
    """Judge each event (``server_uuid``, ``name``, optional ``status`` and ``tag``) for ``region``'s
    servers and act on the accepted ones, in the caller's transaction (``request_id`` and
    ``user_id`` name the caller in the actions recorded).

    :raises NotFound: no event was accepted ("No instances found for any event").
    """
    events = list(events)
    wanted = {e["server_uuid"] for e in events}
    servers = {s.id: s for s in session.scalars(select(Server).where(Server.id.in_(wanted), Server.cloud == region,
                                                                     Server.deleted.is_(False)))}
    outcomes = [_judge(e, servers.get(e["server_uuid"])) for e in events]
    if not any(o.accepted for o in outcomes):
        raise NotFound("No instances found for any event")
    refresh = {o.event["server_uuid"] for o in outcomes if o.accepted and o.event["name"] in REFRESHES_ADDRESSES}
    if refresh:
        networking.refresh_network_info(session, refresh)
    for outcome in outcomes:
        if outcome.accepted and outcome.event["name"] == "volume-extended":
            server = servers[outcome.event["server_uuid"]]
            enqueue(session, kind=volumes.EXTEND, cloud=server.cloud, resource_type="server", resource_id=server.id,
                    params={"volume_id": outcome.event["tag"]}, action=volumes.EXTEND_RULE.name,
                    request_id=request_id, user_id=user_id, project_id=server.project_id)
    return outcomes
