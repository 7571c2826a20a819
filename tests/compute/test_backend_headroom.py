"""A backend's own quotas are consulted when a create is accepted (decision 0046): in a region whose
driver reports its headroom, a server that does not fit is Nova's 403 and a volume Cinder's 413 on
the POST, with nothing recorded; what was accepted since the last read counts against the kept
headroom; a driver that reports nothing is never asked. The passthrough against a real upstream is
tests/live/test_passthrough.py::test_an_upstream_quota_refusal_reaches_the_client."""

from __future__ import annotations

import pytest

from overcast.core.headroom import BackendQuotas
from overcast.drivers.compute import ComputeDriver
from overcast.drivers.errors import InvalidRequest, NotSupported, Unavailable
from overcast.drivers.headroom import UNLIMITED, Headroom
from overcast.drivers.volume import VolumeDriver
from overcast.ops.calls import BackendUnavailable, Backends
from overcast.store.compute import Server
from overcast.store.volume import Volume

from tests.headroom_helpers import Reporting

IMAGE = "6f3c2b34-3c1d-4d5e-9f0a-000000000001"


@pytest.fixture
def core(compute):  # noqa: ANN001, ANN201
    core = compute.app.compute
    core.backend_quotas.forget()
    yield core
    core.backend_quotas.forget()


def _project(compute, token: str) -> str:  # noqa: ANN001
    resp = compute.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
    return resp.json["token"]["project"]["id"]


def _create(compute, token: str, name: str):  # noqa: ANN001, ANN202
    return compute.request("POST", "/compute/v2.1/servers", token,
                           json={"server": {"name": name, "flavorRef": "1", "imageRef": IMAGE}})


def test_drivers_that_declare_nothing_are_never_asked() -> None:
    from overcast.drivers.libcloud.compute import LibcloudComputeDriver
    from overcast.drivers.libcloud.volume import LibcloudVolumeDriver
    from overcast.drivers.local.driver import LocalComputeDriver
    from overcast.drivers.local.volume import LocalVolumeDriver
    from overcast.drivers.noop.driver import NoopComputeDriver
    from overcast.drivers.noop.volume import NoopVolumeDriver
    from overcast.drivers.openstack.compute import OpenStackComputeDriver
    from overcast.drivers.openstack.volume import OpenStackVolumeDriver

    for quiet in (ComputeDriver, VolumeDriver, LocalComputeDriver, LocalVolumeDriver, NoopComputeDriver,
                  NoopVolumeDriver, LibcloudComputeDriver, LibcloudVolumeDriver):
        assert not quiet.reports_headroom, quiet
    assert OpenStackComputeDriver.reports_headroom and OpenStackVolumeDriver.reports_headroom

    class Loud:
        reports_headroom = False

        def headroom(self, ctx):  # noqa: ANN001, ANN202
            raise AssertionError("asked")

    assert BackendQuotas().read(None, "r", "compute", Loud(), project_id="p", user_id="u", request_id=None) is None


def test_a_server_over_the_backends_quota_is_novas_403_and_nothing_is_made(compute, core, demo_token, monkeypatch):
    driver = core.compute_driver("RegionOne")
    spy = Reporting(driver, Headroom(limits={"instances": 2, "cores": UNLIMITED, "ram": UNLIMITED},
                                     used={"instances": 1, "cores": 1, "ram": 512}), monkeypatch)
    first = _create(compute, demo_token, "fits")
    assert first.status_code == 202, first.text
    # the second is refused on the kept headroom (one read, plus what was accepted since)
    refused = _create(compute, demo_token, "over")
    assert refused.status_code == 403, refused.text
    assert refused.json["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")
    assert spy.reads == 1
    with core.store.session() as session:
        assert {s.name for s in session.query(Server)} == {"fits"}
    # min_count within the backend's headroom, max_count beyond it: Nova's retry with the minimum
    core.backend_quotas.forget()
    spy.headroom = Headroom(limits={"instances": 3}, used={"instances": 1})
    many = compute.request("POST", "/compute/v2.1/servers", demo_token, json={"server": {
        "name": "many", "flavorRef": "1", "imageRef": IMAGE, "min_count": 1, "max_count": 5}})
    assert many.status_code == 202, many.text
    with core.store.session() as session:
        assert len([s for s in session.query(Server) if s.name.startswith("many")]) == 1


def test_a_volume_over_the_backends_quota_is_cinders_413(compute, core, demo_token, monkeypatch):
    volume_driver = core.clouds["RegionOne"].volume
    Reporting(volume_driver, Headroom(limits={"volumes": 5, "gigabytes": 10}, used={"volumes": 1, "gigabytes": 9}),
              monkeypatch)
    project = _project(compute, demo_token)
    resp = compute.request("POST", f"/volume/v3/{project}/volumes", demo_token,
                           json={"volume": {"size": 2, "name": "big"}})
    assert resp.status_code == 413, resp.text
    assert "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 10G and 9G " \
           "has been consumed." in resp.text
    core.backend_quotas.forget()
    Reporting(volume_driver, Headroom(limits={"volumes": 1}, used={"volumes": 1}), monkeypatch)
    resp = compute.request("POST", f"/volume/v3/{project}/volumes", demo_token,
                           json={"volume": {"size": 1, "name": "one-more"}})
    assert resp.status_code == 413, resp.text
    assert "Maximum number of volumes allowed (1) exceeded for quota 'volumes'." in resp.text
    with core.store.session() as session:
        assert session.query(Volume).count() == 0


def test_the_read_is_kept_briefly_and_goes_through_the_breaker() -> None:
    now = [0.0]
    quotas = BackendQuotas(ttl=5.0, clock=lambda: now[0])

    class Driver:
        reports_headroom = True
        answers: list = []

        def headroom(self, ctx):  # noqa: ANN001, ANN202
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    driver = Driver()
    driver.answers = [Headroom({"instances": 4}, {"instances": 1}), Headroom({"instances": 4}, {"instances": 3}),
                      Unavailable("down"), InvalidRequest("Policy doesn't allow limits")]
    backends = Backends()
    read = lambda: quotas.read(backends, "lab", "compute", driver, project_id="p", user_id="u",  # noqa: E731
                               request_id=None)
    assert read().used["instances"] == 1
    quotas.taken("lab", "compute", {"instances": 2})
    now[0] = 4.9
    assert read().used["instances"] == 3 and len(driver.answers) == 3  # kept, with what was taken
    now[0] = 5.0
    assert read().used["instances"] == 3 and len(driver.answers) == 2  # asked again
    now[0] = 10.0
    with pytest.raises(BackendUnavailable):  # an unreachable backend: the service's 503
        read()
    now[0] = 20.0
    assert read() is None  # the backend answered but will not say: no check, no refusal
    quotas.forget()
    assert Headroom({"instances": UNLIMITED}, {"instances": 10}).over({"instances": 1}) == []

    class Silent:
        reports_headroom = True

        def headroom(self, ctx):  # noqa: ANN001, ANN202
            raise NotSupported("no")

    assert quotas.read(None, "lab", "compute", Silent(), project_id=None, user_id=None, request_id=None) is None


def test_a_server_whose_ports_the_network_backend_cannot_hold_is_novas_403(compute, core, demo_token, monkeypatch):
    """Decision 0069: the ports the builds would make count against the region's network backend's
    headroom (Nova's PortLimitExceeded, 403), and a project's first default group too; ``--nic none``
    makes no port and is not checked; ``min_count`` is retried as for the instances quota."""
    from overcast.store.network import Port, SecurityGroup

    network = compute.app.network
    network.backend_quotas.forget()
    net = compute.request("POST", "/network/v2.0/networks", demo_token, json={"network": {"name": "n"}}).json
    compute.request("POST", "/network/v2.0/subnets", demo_token, json={"subnet": {
        "network_id": net["network"]["id"], "cidr": "10.5.0.0/24", "ip_version": 4}})
    nic = [{"uuid": net["network"]["id"]}]
    spy = Reporting(network.clouds["RegionOne"].network, Headroom(
        limits={"port": 3, "security_group": 1, "security_group_rule": UNLIMITED},
        used={"port": 3, "security_group": 0, "security_group_rule": 0}), monkeypatch)
    with core.store.session() as session:
        ports, groups = session.query(Port).count(), session.query(SecurityGroup).count()

    def create(name: str, token: str = demo_token, **server):  # noqa: ANN003, ANN202
        return compute.request("POST", "/compute/v2.1/servers", token, json={"server": {
            "name": name, "flavorRef": "1", "imageRef": IMAGE, **server}},
            headers={"OpenStack-API-Version": "compute 2.37"})

    refused = create("portless", networks=nic)
    assert refused.status_code == 403, refused.text
    assert refused.json["forbidden"]["message"] == "Maximum number of ports exceeded"
    assert spy.reads == 1
    assert create("no-port", networks="none").status_code == 202
    assert spy.reads == 1  # --nic none: not asked
    # room for one port: max_count 3 is retried with min_count 1
    network.backend_quotas.forget()
    spy.headroom = Headroom(limits={"port": 4, "security_group": 5}, used={"port": 3, "security_group": 0})
    many = create("many", networks=nic, min_count=1, max_count=3)
    assert many.status_code == 202, many.text
    # the kept read counts the port taken: the next is refused without a read
    again = create("again", networks=nic)
    assert again.status_code == 403 and spy.reads == 2
    # alt_demo's first default group (it has none yet; demo's is seeded) must fit too
    alt_token = compute.token("alt_demo", "alt_demo")
    alt_net = compute.request("POST", "/network/v2.0/networks", alt_token, json={"network": {"name": "a"}}).json
    compute.request("POST", "/network/v2.0/subnets", alt_token, json={"subnet": {
        "network_id": alt_net["network"]["id"], "cidr": "10.6.0.0/24", "ip_version": 4}})
    with core.store.session() as session:
        groups = session.query(SecurityGroup).count()
    network.backend_quotas.forget()
    spy.headroom = Headroom(limits={"port": 10, "security_group": 1}, used={"port": 0, "security_group": 1})
    sg = create("no-group", alt_token, networks=[{"uuid": alt_net["network"]["id"]}])
    assert sg.status_code == 403, sg.text
    assert sg.json["forbidden"]["message"] == "Quota exceeded, too many security groups."
    with core.store.session() as session:
        assert {s.name for s in session.query(Server)} == {"no-port", "many"}
        assert session.query(Port).count() == ports and session.query(SecurityGroup).count() == groups


def test_an_auto_allocated_topology_must_fit_the_network_backends_headroom(compute, core, demo_token, monkeypatch):
    """Decision 0076: ``networks: "auto"`` (2.37) for a project with no network makes its
    auto-allocated topology (a network, a subnet, a router) in the request; in a region whose
    network backend reports its headroom those must fit it too, else Nova's 400
    UnableToAutoAllocateNetwork with nothing recorded (before: 202, and the topology recorded but
    never made upstream). What the topology took is counted into the kept read with the port."""
    from overcast.store.network import Network, Router, Subnet

    network = compute.app.network
    network.backend_quotas.forget()
    alt_token = compute.token("alt_demo", "alt_demo")
    spy = Reporting(network.clouds["RegionOne"].network, Headroom(
        limits={"network": 5, "subnet": 5, "router": 1, "port": 5, "security_group": 5},
        used={"network": 0, "subnet": 0, "router": 1, "port": 0, "security_group": 0}), monkeypatch)
    with core.store.session() as session:
        before = (session.query(Network).count(), session.query(Subnet).count(), session.query(Router).count())

    def create(name: str):  # noqa: ANN202
        return compute.request("POST", "/compute/v2.1/servers", alt_token, json={"server": {
            "name": name, "flavorRef": "1", "imageRef": IMAGE, "networks": "auto"}},
            headers={"OpenStack-API-Version": "compute 2.37"})

    refused = create("no-router")
    assert refused.status_code == 400, refused.text
    assert refused.json["badRequest"]["message"].startswith("Unable to automatically allocate a network for project")
    with core.store.session() as session:
        assert (session.query(Network).count(), session.query(Subnet).count(),
                session.query(Router).count()) == before
        assert not session.query(Server).filter(Server.name == "no-router").count()
    network.backend_quotas.forget()
    spy.headroom = Headroom(limits={"network": 5, "subnet": 5, "router": 2, "port": 5, "security_group": 5},
                            used={"network": 0, "subnet": 0, "router": 1, "port": 0, "security_group": 0})
    made = create("routed")
    assert made.status_code == 202, made.text
    kept = network.backend_quotas.read(None, "RegionOne", "network", network.clouds["RegionOne"].network,
                                       project_id=None, user_id=None, request_id=None)
    assert kept is not None and spy.reads == 2  # the kept read, with what the request took
    assert {k: kept.used[k] for k in ("network", "subnet", "router", "port")} == {
        "network": 1, "subnet": 1, "router": 2, "port": 1}
