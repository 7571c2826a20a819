"""Decision 0072 without daemons: the volume driver of a region of hosts places a volume on one
host (a Cinder pool per host), exports it to that host only, and the compute driver refuses a
volume of another host; a server whose guest moved is found on its new host under its old id.
The live flows (real guests, the CLI) are in tests/hosts/test_agent_region.py."""

from __future__ import annotations

from typing import Any

import pytest

from overcast.drivers import errors
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.compute import HostsCompute
from overcast.drivers.hosts.scheduler import HostDirectory
from overcast.drivers.hosts.transport import Hosts
from overcast.drivers.hosts.volume import HostsVolume
from overcast.drivers.volume import VolumeRequest

CTX = CallContext()


class FakeHosts(Hosts):
    """Hosts known from fed heartbeats, answering a few commands from memory."""

    def __init__(self) -> None:
        self.directory = HostDirectory(down_after=30.0)
        self.volumes: dict[str, dict[str, Any]] = {}
        self.guests: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []

    def beat(self, host: str, disk_gb: int = 100) -> None:
        self.volumes.setdefault(host, {})
        guests = self.guests.setdefault(host, {})
        self.directory.on_report({"type": "heartbeat", "host": host, "zone": "nova", "interval": 1.0,
                                  "info": {"vcpus": 4, "memory_mb": 8192, "disk_gb": disk_gb},
                                  "guests": [{"uuid": u, "state": "running", "vcpus": 1, "memory_mb": 64,
                                              "disk_gb": 0} for u in guests]})

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        args = args or {}
        self.calls.append((host, method))
        if method == "volumes":
            return {vid: {"size_gb": size, "guests": []} for vid, size in self.volumes[host].items()}
        if method == "create_volume":
            self.volumes[host][args["id"]] = args["size_gb"]
            return {"id": args["id"], "size_gb": args["size_gb"]}
        if method == "get":
            guest = self.guests[host].get(args["uuid"])
            if guest is None:
                raise errors.NotFound(f"no guest {args['uuid']} on {host}")
            return guest
        raise AssertionError(f"unexpected command {method} to {host}")

    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        return None


def guest(uid: str, backend_id: str) -> dict[str, Any]:
    return {"uuid": uid, "name": "s", "state": "running", "vcpus": 1, "memory_mb": 64, "disk_gb": 0,
            "meta": {"backend_id": backend_id}, "volumes": [], "nics": []}


@pytest.fixture
def hosts() -> FakeHosts:
    hosts = FakeHosts()
    hosts.beat("a", disk_gb=50)
    hosts.beat("b", disk_gb=100)
    return hosts


def test_a_volume_lives_on_one_host_and_is_exported_to_it_only(hosts: FakeHosts) -> None:
    driver = HostsVolume(hosts, "agent")
    pools = {p.name: p.capabilities() for p in driver.pools(CTX)}
    assert set(pools) == {"a", "b"} and pools["a"]["pool_name"] == "a"
    # the pool the scheduler chose, else the host with the most free disk
    on_a = driver.create(CTX, VolumeRequest(name="v", size_gb=1, idempotency_key="k1", pool="a"))
    anywhere = driver.create(CTX, VolumeRequest(name="w", size_gb=1, idempotency_key="k2"))
    assert on_a.startswith("a/") and anywhere.startswith("b/")
    assert driver.create(CTX, VolumeRequest(name="v", size_gb=1, idempotency_key="k1", pool="b")) == on_a
    info = driver.get(CTX, on_a)
    assert info.host == "agent@hosts#a" and info.extra["hypervisor_host"] == "a"
    assert driver.attach(CTX, on_a, "a").data["host"] == "a"
    with pytest.raises(errors.InvalidRequest, match="on host a and cannot be attached on host b"):
        driver.attach(CTX, on_a, "b")


def test_the_compute_driver_refuses_a_volume_of_another_host(hosts: FakeHosts) -> None:
    compute = HostsCompute(hosts)
    hosts.calls.clear()
    with pytest.raises(errors.InvalidRequest, match="only to servers on its own host"):
        compute.attach_volume(CTX, "a/0000", "b/1111")
    assert hosts.calls == []                    # refused before any host is asked


def test_a_guest_that_moved_is_found_under_its_first_id(hosts: FakeHosts) -> None:
    hosts.guests["b"]["u1"] = guest("u1", "a/u1")       # built on a, moved to b
    hosts.beat("a")
    hosts.beat("b")
    info = HostsCompute(hosts).get(CTX, "a/u1")
    assert info.backend_id == "a/u1" and info.host == "b"
    with pytest.raises(errors.NotFound):
        HostsCompute(hosts).get(CTX, "a/u2")


def test_a_server_with_volumes_attached_is_not_moved(hosts: FakeHosts) -> None:
    """Its volumes stay on their host: the move is refused before the guest is touched."""
    hosts.guests["a"]["u3"] = dict(guest("u3", "a/u3"), volumes=[{"volume_id": "v", "path": "/p", "device": "vdb"}])
    hosts.beat("a")
    hosts.calls.clear()
    with pytest.raises(errors.InvalidRequest, match="detach them before the server moves"):
        HostsCompute(hosts).migrate(CTX, "a/u3")
    assert [method for _, method in hosts.calls] == ["get", "get"]     # located and read: nothing moved
