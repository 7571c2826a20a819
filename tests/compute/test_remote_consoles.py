"""Consoles: ``POST /servers/{id}/remote-consoles`` (2.6+) and the legacy console actions (up to
2.5). The built-in drivers offer no console, so after Nova's checks every request gets Nova's fault
for an unavailable console type, never a URL; a driver declaring ``remote_console`` gives its URL."""

from __future__ import annotations

import pytest
from schemas import Api, seeded  # noqa: F401
from sqlalchemy import select

from overcast.drivers.compute import Capability, RemoteConsole
from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotSupported
from overcast.drivers.local.driver import LocalComputeDriver
from overcast.drivers.noop.driver import NoopComputeDriver
from overcast.store.compute import Server
from overcast.store.models import Project


def _server(cloud, host: str | None = "overcast-1", project: str = "demo") -> str:  # noqa: ANN001
    with cloud.app.compute.store.session() as session:
        owner = session.scalar(select(Project.id).where(Project.name == project))
        server = Server(cloud="RegionOne", project_id=owner, user_id="u", name="vm", flavor_id="1",
                        flavor={"vcpus": 1, "ram": 512, "disk": 1}, vm_state="active", task_state=None, host=host,
                        backend_id="b-1" if host else None)
        session.add(server)
        session.flush()
        return server.id


def _console(protocol: str, kind: str) -> dict:
    return {"remote_console": {"protocol": protocol, "type": kind}}


def test_no_built_in_driver_offers_a_console():
    """Neither built-in driver has a console proxy, so neither may hand out a console URL."""
    for driver in (LocalComputeDriver, NoopComputeDriver):
        assert Capability.REMOTE_CONSOLE not in driver.capabilities


class _WithConsole:
    """A region driver whose backend has a noVNC proxy (and only that)."""

    capabilities = frozenset({Capability.REMOTE_CONSOLE})

    def __init__(self):
        self.asked = []

    def remote_console(self, call: CallContext, backend_id: str, console_type: str) -> RemoteConsole:
        self.asked.append((backend_id, console_type))
        if console_type != "novnc":
            raise NotSupported(f"no {console_type} console")
        return RemoteConsole(console_type, f"http://host-1:6080/vnc_auto.html?path=%3Ftoken%3D{backend_id}")


def test_a_driver_with_a_console_gives_its_url(demo, seeded, monkeypatch):
    driver = _WithConsole()
    monkeypatch.setattr(seeded.app.compute, "compute_driver", lambda region: driver)
    server = _server(seeded)
    url = "http://host-1:6080/vnc_auto.html?path=%3Ftoken%3Db-1"
    made = demo("POST", f"/servers/{server}/remote-consoles", "2.6", json=_console("vnc", "novnc"))
    assert made.status_code == 200, made.text
    assert made.json == {"remote_console": {"protocol": "vnc", "type": "novnc", "url": url}}
    legacy = demo("POST", f"/servers/{server}/action", "2.1", json={"os-getVNCConsole": {"type": "novnc"}})
    assert legacy.status_code == 200 and legacy.json == {"console": {"type": "novnc", "url": url}}
    spice = demo("POST", f"/servers/{server}/remote-consoles", "2.6", json=_console("spice", "spice-html5"))
    assert spice.status_code == 400 and spice.json["badRequest"]["message"] == "Unavailable console type spice-html5."
    assert driver.asked == [("b-1", "novnc"), ("b-1", "novnc"), ("b-1", "spice-html5")]


@pytest.mark.parametrize("action,kind", [("os-getVNCConsole", "novnc"), ("os-getVNCConsole", "xvpvnc"),
                                         ("os-getSPICEConsole", "spice-html5"), ("os-getRDPConsole", "rdp-html5"),
                                         ("os-getSerialConsole", "serial")])
def test_legacy_console_actions_as_nova_without_consoles(demo, seeded, action, kind):
    """Below 2.6 Nova answers the console actions; with its consoles disabled, 400 naming the type."""
    server = _server(seeded)
    resp = demo("POST", f"/servers/{server}/action", "2.5", json={action: {"type": kind}})
    assert resp.status_code == 400, resp.text
    assert resp.json == {"badRequest": {"code": 400, "message": f"Unavailable console type {kind}."}}


def test_legacy_console_action_checks(demo, seeded):
    server = _server(seeded)
    path = f"/servers/{server}/action"
    # from 2.6 only remote-consoles serves them
    assert demo("POST", path, "2.6", json={"os-getVNCConsole": {"type": "novnc"}}).status_code == 404
    for body in ({"os-getVNCConsole": {"type": "spice-html5"}}, {"os-getVNCConsole": {}},
                 {"os-getSerialConsole": {"type": "serial", "x": 1}}, {"os-getSPICEConsole": None}):
        assert demo("POST", path, "2.1", json=body).status_code == 400, body
    alt = Api(seeded, seeded.token("alt_demo", "alt_demo"))
    assert alt("POST", path, "2.1", json={"os-getVNCConsole": {"type": "novnc"}}).status_code == 404
    building = _server(seeded, host=None)
    not_ready = demo("POST", f"/servers/{building}/action", "2.1", json={"os-getVNCConsole": {"type": "novnc"}})
    assert not_ready.status_code == 409
    assert not_ready.json["conflictingRequest"]["message"] == f"Instance {building} is not ready"


@pytest.mark.parametrize("version,protocol,kind", [("2.6", "vnc", "novnc"), ("2.6", "vnc", "xvpvnc"),
                                                   ("2.6", "spice", "spice-html5"), ("2.7", "serial", "serial"),
                                                   ("2.8", "mks", "webmks"), ("2.90", "vnc", "novnc"),
                                                   ("2.99", "spice", "spice-direct")])
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
                          ("2.98", _console("spice", "spice-direct")),
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
