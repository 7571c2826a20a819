"""A region of hypervisor hosts as Nova's admin APIs see it, from the hosts' heartbeats (no daemons):
no phantom ``nova-compute`` before any host reported, a host that missed its heartbeats ``down``
(os-services, os-hypervisors, os-availability-zone/detail) with its servers' ``host_status``
``UNKNOWN``, and ``up`` again when it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from overcast.core import inventory
from overcast.core.compute import admin
from overcast.core.compute.zones import list_zones
from overcast.drivers import errors
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.compute import HostsCompute
from overcast.drivers.hosts.scheduler import HostDirectory
from overcast.drivers.hosts.transport import Hosts
from overcast.drivers.registry import CloudDriver
from overcast.store.compute import ComputeService
from overcast.store.db import Store

REGION = "lab"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Heartbeats(Hosts):
    """Hosts known only from the heartbeats a test feeds; no host answers a command."""

    def __init__(self, clock: Clock) -> None:
        self.directory = HostDirectory(down_after=3.0, clock=clock)

    def beat(self, host: str, zone: str = "nova") -> None:
        self.directory.on_report({"type": "heartbeat", "host": host, "zone": zone, "interval": 1.0,
                                  "info": {"vcpus": 4, "memory_mb": 8192, "disk_gb": 100}, "guests": []})

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        raise errors.Unavailable(f"no answer from {host}")

    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        return None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'hosts.db'}")
    store.upgrade(REGION)
    yield store
    store.dispose()


@pytest.fixture
def region() -> tuple[Clock, Heartbeats, CloudDriver]:
    clock = Clock()
    hosts = Heartbeats(clock)
    return clock, hosts, CloudDriver(name=REGION, compute=HostsCompute(hosts))


def computes(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(s.host for s in session.scalars(select(ComputeService).where(
            ComputeService.cloud == REGION, ComputeService.binary == "nova-compute")))


def test_no_phantom_compute_before_any_host_reported(store: Store, region: Any) -> None:
    _, hosts, cloud = region
    assert inventory.refresh(store.session, REGION, cloud) == []
    assert computes(store) == []                                  # not one named after the region
    with store.session() as session:
        assert admin.hypervisors(session, region=REGION) == []
        assert [z.name for z in list_zones(session, region=REGION, internal=True)] == ["internal"]
    hosts.beat("h1")
    hosts.beat("h2", zone="az2")
    inventory.refresh(store.session, REGION, cloud)
    assert computes(store) == ["h1", "h2"]
    with store.session() as session:
        zones = {z.name: z for z in list_zones(session, region=REGION, internal=True)}
    assert sorted(zones) == ["az2", "internal", "nova"]
    assert zones["nova"].hosts["h1"]["nova-compute"][:2] == (True, True)     # available (up), active (enabled)
    assert list(zones["az2"].hosts) == ["h2"]


def test_a_host_without_heartbeats_is_down_and_up_again_when_it_reports(store: Store, region: Any) -> None:
    clock, hosts, cloud = region
    hosts.beat("h1")
    hosts.beat("h2")
    inventory.refresh(store.session, REGION, cloud)
    clock.now += 10                                               # past down_after: h1 is silent,
    hosts.beat("h2")                                              # h2 still reports
    inventory.refresh(store.session, REGION, cloud)
    with store.session() as session:
        states = {h.hostname: h.state for h in admin.hypervisors(session, region=REGION)}
        assert states == {"h1": "down", "h2": "up"}
        assert admin.host_statuses(session, region=REGION) == {"h1": "UNKNOWN", "h2": "UP"}
        down = admin.down_hosts(session, region=REGION)
        assert {s.host: admin.service_is_up(s, down) for s in admin.list_services(session, region=REGION)} == {
            "h1": False, "h2": True, f"{REGION}-controller": True}
        zone = {z.name: z for z in list_zones(session, region=REGION)}["nova"]
        assert zone.available                                      # Nova: a zone with an enabled service
        assert zone.hosts["h1"]["nova-compute"][:2] == (False, True)
        # an administrator's own marks come first, as in Nova: forced down, then disabled
        h2 = admin.find_service_by_host(session, "h2", "nova-compute", region=REGION)
        admin.set_service(h2, disabled=True, reason="maintenance")
        assert admin.host_statuses(session, region=REGION)["h2"] == "MAINTENANCE"
        zone = {z.name: z for z in list_zones(session, region=REGION)}["nova"]
        assert zone.hosts["h2"]["nova-compute"][:2] == (True, False)     # up, not active (disabled)
        admin.set_service(h2, forced_down=True)
        assert admin.host_statuses(session, region=REGION)["h2"] == "DOWN"
    hosts.beat("h1")                                              # it is back
    inventory.refresh(store.session, REGION, cloud)
    with store.session() as session:
        assert admin.host_statuses(session, region=REGION)["h1"] == "UP"
        assert {h.hostname: h.state for h in admin.hypervisors(session, region=REGION)}["h1"] == "up"


def test_the_scheduler_skips_the_down_host(region: Any) -> None:
    """Nothing new goes to a host that missed its heartbeats; none left: Nova's "No valid host"."""
    from overcast.drivers.hosts.scheduler import NoValidHost, Request, schedule

    clock, hosts, _ = region
    hosts.beat("h1")
    hosts.beat("h2")
    clock.now += 10
    hosts.beat("h2")
    assert [h.name for h in schedule(hosts.hosts(), Request(1, 256, 1))] == ["h2"]
    clock.now += 10
    with pytest.raises(NoValidHost, match="No valid host was found.*ComputeFilter refused 2"):
        schedule(hosts.hosts(), Request(1, 256, 1))


class Answering(Heartbeats):
    """Hosts that answer ``list`` (each with one guest), but for those named ``silent``."""

    def __init__(self, clock: Clock, silent: set[str]) -> None:
        super().__init__(clock)
        self.silent = silent
        self.asked: list[str] = []

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        self.asked.append(host)
        if method != "list" or host in self.silent:
            raise errors.Unavailable(f"no answer from {host}")
        return [{"uuid": f"{host}-guest", "name": "vm", "state": "running", "vcpus": 1, "memory_mb": 256,
                 "disk_gb": 1, "meta": {}}]


def test_the_listing_names_the_hosts_it_could_not_ask() -> None:
    """``list()`` is partial when hosts are down or silent, and says so (``unreached``), so that no
    caller takes a server missing from it for one that is gone."""
    from overcast.drivers.compute import ServerListing, unreached_hosts

    clock = Clock()
    hosts = Answering(clock, silent={"h3"})
    for name in ("h1", "h2", "h3"):
        hosts.beat(name)
    clock.now += 10
    hosts.beat("h2")
    hosts.beat("h3")                                               # h1 is down, h3 up but silent
    listing = HostsCompute(hosts).list(CallContext())
    assert isinstance(listing, ServerListing)
    assert [s.backend_id for s in listing] == ["h2/h2-guest"]
    assert unreached_hosts(listing) == {"h1", "h3"}
    assert "h1" not in hosts.asked                                 # a down host is not asked at all
    hosts.silent.clear()
    hosts.beat("h1")
    everything = HostsCompute(hosts).list(CallContext())
    assert sorted(s.backend_id for s in everything) == ["h1/h1-guest", "h2/h2-guest", "h3/h3-guest"]
    assert unreached_hosts(everything) == frozenset()
    assert unreached_hosts([]) == frozenset()                     # a plain list: every host was asked


def test_a_build_just_after_a_start_waits_for_the_hosts_first_heartbeats() -> None:
    """A process that has just started (a restart resuming builds) has heard from no host yet:
    within its warm-up it waits for a host that fits instead of failing with "No valid host"."""
    import threading

    from overcast.drivers.hosts.scheduler import NoValidHost, Request

    class JustStarted(Heartbeats):
        left = 5.0

        def warm_up_left(self) -> float:
            return self.left

    hosts = JustStarted(Clock())
    compute = HostsCompute(hosts)
    timer = threading.Timer(0.3, hosts.beat, ["h1"])
    timer.start()
    try:
        assert [h.name for h in compute._schedule(Request(1, 256, 1))] == ["h1"]
    finally:
        timer.join()
    hosts.left = 0.0                                  # past the warm-up: none fits, Nova's fault at once
    with pytest.raises(NoValidHost):
        compute._schedule(Request(1, 10**9, 1))
