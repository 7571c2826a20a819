"""A network backend's own quotas are consulted when a Neutron create is accepted (decision 0046): in
a region whose network driver reports its headroom, a create that does not fit is Neutron's 409
OverQuota naming the resource, on the POST, with nothing recorded and nothing sent to the backend;
a bulk create counts all its members; what was accepted since the last read counts against the kept
headroom; an unreachable backend is a 503; a driver that reports nothing is never asked. The
passthrough against a real upstream Neutron is
tests/live/test_passthrough.py::test_an_upstream_network_quota_refusal_is_neutrons_409_on_the_post."""

from __future__ import annotations

import pytest

from overcast.core.headroom import BackendQuotas
from overcast.drivers.errors import DriverError, Unavailable
from overcast.drivers.headroom import Headroom
from overcast.drivers.network import NetworkDriver
from overcast.ops.models import Operation
from overcast.store.network import Network, SecurityGroupRule

from tests.headroom_helpers import Reporting

OVER = ("OverQuota", "Quota exceeded for resources: ['{}'].")


@pytest.fixture
def core(cloud):  # noqa: ANN001, ANN201
    core = cloud.app.network
    core.backend_quotas.forget()
    yield core
    core.backend_quotas.forget()


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _count(core, model) -> int:  # noqa: ANN001
    with core.session() as session:
        return session.query(model).count()


def test_a_create_past_the_backends_headroom_is_409_overquota_with_nothing_recorded(
        net, demo_token, core, monkeypatch):  # noqa: ANN001
    net.make(demo_token, "networks", "network", name="before")  # the default security group exists
    backend = Reporting(core.driver, Headroom(limits={"network": 5, "security_group_rule": 3},
                                              used={"network": 4, "security_group_rule": 3}), monkeypatch)
    networks, operations = _count(core, Network), _count(core, Operation)
    # bulk: both members count, so neither is made
    status, body = net("POST", "/networks", demo_token, {"networks": [{"name": "a"}, {"name": "b"}]})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("network"))
    assert (_count(core, Network), _count(core, Operation)) == (networks, operations)
    # one fits; the kept read plus what was taken refuses the next without asking again
    net.make(demo_token, "networks", "network", name="fits")
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "over"}})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("network"))
    assert backend.reads == 1
    # a rule: the backend's security_group_rule quota, Neutron's fault naming it
    group = net.make(demo_token, "security-groups", "security_group", name="g")
    rules = _count(core, SecurityGroupRule)
    status, body = net("POST", "/security-group-rules", demo_token, {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22}})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("security_group_rule"))
    assert _count(core, SecurityGroupRule) == rules
    # resources the backend sets no limit on pass
    net.make(demo_token, "routers", "router", name="r")


def test_an_unreachable_backend_is_503_and_one_that_will_not_say_is_not_checked(
        net, demo_token, core, monkeypatch):  # noqa: ANN001
    backend = Reporting(core.driver, Headroom(limits={"network": 0}, used={"network": 0}), monkeypatch)
    core.backend_quotas.ttl = 0.0
    backend.fail = Unavailable("upstream down")
    networks = _count(core, Network)
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "down"}})
    assert status == 503, body
    assert _count(core, Network) == networks
    backend.fail = DriverError("policy does not allow get_quota")
    net.make(demo_token, "networks", "network", name="unsaid")
    backend.fail = None
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "said"}})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("network"))


def test_network_drivers_that_declare_nothing_are_never_asked() -> None:
    from overcast.drivers.local.network import LocalNetworkDriver
    from overcast.drivers.noop.network import NoopNetworkDriver
    from overcast.drivers.openstack.network import OpenStackNetworkDriver

    for quiet in (NetworkDriver, LocalNetworkDriver, NoopNetworkDriver):
        assert not quiet.reports_headroom, quiet
    assert OpenStackNetworkDriver.reports_headroom

    class Loud:
        reports_headroom = False

        def headroom(self, ctx):  # noqa: ANN001, ANN202
            raise AssertionError("asked")

    assert BackendQuotas().read(None, "r", "network", Loud(), project_id="p", user_id=None, request_id=None) is None


def test_a_projects_first_default_group_must_fit_the_backends_headroom(net, cloud, core, monkeypatch):  # noqa: ANN001
    """Decision 0069: a create that makes the project's ``default`` security group (Neutron's first
    use: here a port) checks the group and its four rules against the backend's headroom: Neutron's
    409 OverQuota naming the resource, with neither the group nor the port recorded."""
    from overcast.store.network import Port, SecurityGroup

    alt_token = cloud.token("alt_demo", "alt_demo")  # a project that has no default group yet (demo's is seeded)
    demo_token = alt_token
    backend = Reporting(core.driver, Headroom(limits={"security_group": 2, "security_group_rule": 10},
                                              used={"security_group": 2, "security_group_rule": 0}), monkeypatch)
    network = net.make(demo_token, "networks", "network", name="first")  # makes no default group
    groups, ports = _count(core, SecurityGroup), _count(core, Port)
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"]}})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("security_group")), body
    assert (_count(core, SecurityGroup), _count(core, Port)) == (groups, ports)
    core.backend_quotas.forget()
    backend.headroom = Headroom(limits={"security_group": 5, "security_group_rule": 3},
                                used={"security_group": 0, "security_group_rule": 0})
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"]}})
    assert status == 409 and _error(body) == (OVER[0], OVER[1].format("security_group_rule")), body
    core.backend_quotas.forget()
    backend.headroom = Headroom(limits={"security_group": 5, "security_group_rule": 4},
                                used={"security_group": 0, "security_group_rule": 0})
    net.make(demo_token, "ports", "port", network_id=network["id"])
    assert _count(core, SecurityGroup) == groups + 1
