"""POST /servers/{id}/remote-consoles: no driver offers a console, so after Nova's checks
every request gets Nova's fault for an unavailable console type, never a URL."""

from __future__ import annotations

import pytest
from schemas import Api, seeded  # noqa: F401
from sqlalchemy import select

from overcast.drivers.compute import Capability
from overcast.store.compute import Server
from overcast.store.models import Project


def _server(cloud, host: str | None = "overcast-1", project: str = "demo") -> str:  # noqa: ANN001
    with cloud.app.compute.store.session() as session:
        owner = session.scalar(select(Project.id).where(Project.name == project))
        server = Server(cloud="RegionOne", project_id=owner, user_id="u", name="vm", flavor_id="1",
                        flavor={"vcpus": 1, "ram": 512, "disk": 1}, vm_state="active", task_state=None, host=host)
        session.add(server)
        session.flush()
        return server.id


def _console(protocol: str, kind: str) -> dict:
    return {"remote_console": {"protocol": protocol, "type": kind}}


def test_no_driver_capability_offers_a_console():
    """The day a driver can offer a console, remote-consoles must give its URL instead."""
    assert not {c.value for c in Capability} & {"vnc", "spice", "serial", "mks", "remote_console"}


@pytest.mark.parametrize("version,protocol,kind", [("2.6", "vnc", "novnc"), ("2.6", "vnc", "xvpvnc"),
                                                   ("2.6", "spice", "spice-html5"), ("2.7", "serial", "serial"),
                                                   ("2.8", "mks", "webmks"), ("2.90", "vnc", "novnc")])
def test_unavailable_console_type(demo, seeded, version, protocol, kind):
    server = _server(seeded)
    resp = demo("POST", f"/servers/{server}/remote-consoles", version, json=_console(protocol, kind))
    assert resp.status_code == 400, resp.text
    assert resp.json == {"badRequest": {"code": 400, "message": f"Unavailable console type {kind}."}}


def test_checks_before_the_answer(demo, seeded):
    server = _server(seeded)
    path = f"/servers/{server}/remote-consoles"
    missing = demo("POST", path, "2.5", json=_console("vnc", "novnc"))
    assert missing.status_code == 404 and missing.json["itemNotFound"]["message"] == "The resource could not be found."
    for version, body in (("2.6", _console("mks", "webmks")), ("2.6", _console("rdp", "rdp-html5")),
                          ("2.8", _console("vnc", "html5")), ("2.6", {"remote_console": {"protocol": "vnc"}}),
                          ("2.6", {"console": {}})):
        assert demo("POST", path, version, json=body).status_code == 400, (version, body)
    unknown = demo("POST", "/servers/5c8b3e2a-0000-4000-8000-000000000000/remote-consoles", "2.6",
                   json=_console("vnc", "novnc"))
    assert unknown.status_code == 404
    alt = Api(seeded, seeded.token("alt_demo", "alt_demo"))
    assert alt("POST", path, "2.6", json=_console("vnc", "novnc")).status_code == 404
    building = _server(seeded, host=None)
    not_ready = demo("POST", f"/servers/{building}/remote-consoles", "2.6", json=_console("vnc", "novnc"))
    assert not_ready.status_code == 409
    assert not_ready.json["conflictingRequest"]["message"] == f"Instance {building} is not ready"
