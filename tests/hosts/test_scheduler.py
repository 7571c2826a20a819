"""The scheduler and the host directory (no daemons needed)."""

from __future__ import annotations

import pytest

from overcast.drivers.hosts.scheduler import HostDirectory, NoValidHost, Request, schedule


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def beat(directory: HostDirectory, host: str, *, zone: str = "nova", vcpus: int = 4, memory_mb: int = 8192,
         disk_gb: int = 100, used_mb: int = 0, guests: list[dict] | None = None, interval: float = 1.0) -> None:
    directory.on_report({"type": "heartbeat", "host": host, "zone": zone, "interval": interval,
                         "info": {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb},
                         "usage": {"vcpus": 0, "memory_mb": used_mb, "disk_gb": 0},
                         "ratios": {"cpu": 16.0, "ram": 1.0, "disk": 1.0}, "reserved_memory_mb": 0,
                         "guests": guests or []})


def test_most_free_ram_first_within_the_zone():
    d = HostDirectory(clock=Clock())
    beat(d, "a", used_mb=4096)
    beat(d, "b", used_mb=1024)
    beat(d, "c", zone="other")
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1))][:2] == ["c", "b"]
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1, zone="nova"))] == ["b", "a"]
    with pytest.raises(NoValidHost, match="AvailabilityZoneFilter"):
        schedule(d.hosts(), Request(1, 512, 1, zone="nowhere"))


def test_ram_cpu_and_disk_with_allocation_ratios():
    d = HostDirectory(clock=Clock())
    beat(d, "a", vcpus=2, memory_mb=2048, disk_gb=10)
    assert schedule(d.hosts(), Request(32, 2048, 10))           # 2 vCPUs x 16
    for request, flt in ((Request(33, 512, 1), "CoreFilter"), (Request(1, 2049, 1), "RamFilter"),
                         (Request(1, 512, 11), "DiskFilter")):
        with pytest.raises(NoValidHost, match=flt) as info:
            schedule(d.hosts(), request)
        assert str(info.value).startswith("No valid host was found. There are not enough hosts available.")


def test_pending_claims_count_until_a_heartbeat_shows_the_guest():
    d = HostDirectory(clock=Clock())
    beat(d, "a", memory_mb=1024)
    d.claim("a", "k1", 1, 768, 0, None)
    with pytest.raises(NoValidHost):
        schedule(d.hosts(), Request(1, 512, 0))
    beat(d, "a", memory_mb=1024, used_mb=768, guests=[{"uuid": "u1", "key": "k1", "state": "running"}])
    assert d.hosts()[0].claims == []
    with pytest.raises(NoValidHost):
        schedule(d.hosts(), Request(1, 512, 0))


def test_a_host_that_misses_heartbeats_is_down_and_gets_nothing():
    clock = Clock()
    d = HostDirectory(clock=clock)
    beat(d, "a", interval=1.0)
    beat(d, "b", interval=1.0, used_mb=4000)
    clock.now += 2.0
    beat(d, "b", interval=1.0, used_mb=4000)
    clock.now += 2.0
    assert {h.name: h.up for h in d.hosts()} == {"a": False, "b": True}
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1))] == ["b"]
    beat(d, "a")
    assert all(h.up for h in d.hosts())


def test_server_group_affinity_and_anti_affinity_across_hosts():
    d = HostDirectory(clock=Clock())
    beat(d, "a", guests=[{"uuid": "u1", "group": "g", "state": "running"}], used_mb=2000)
    beat(d, "b")
    beat(d, "c")
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1, group="g", policy="affinity"))] == ["a"]
    assert "a" not in [h.name for h in schedule(d.hosts(), Request(1, 512, 1, group="g", policy="anti-affinity"))]
    # a fresh group: affinity takes any host
    assert len(schedule(d.hosts(), Request(1, 512, 1, group="new", policy="affinity"))) == 3
    # claims count as members: two anti-affine builds between heartbeats land apart
    d.claim("b", "k2", 1, 512, 1, "g")
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1, group="g", policy="anti-affinity"))] == ["c"]
    d.claim("c", "k3", 1, 512, 1, "g")
    with pytest.raises(NoValidHost, match="ServerGroupAntiAffinityFilter"):
        schedule(d.hosts(), Request(1, 512, 1, group="g", policy="anti-affinity"))
    # soft policies only weigh
    assert schedule(d.hosts(), Request(1, 512, 1, group="g", policy="soft-affinity"))[0].name in ("a", "b", "c")
    assert len(schedule(d.hosts(), Request(1, 512, 1, group="g", policy="soft-anti-affinity"))) == 3


def test_excluded_and_disabled_hosts():
    d = HostDirectory(clock=Clock())
    beat(d, "a")
    beat(d, "b")
    d.set_disabled("a", True)
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1))] == ["b"]
    with pytest.raises(NoValidHost, match="RetryFilter"):
        schedule(d.hosts(), Request(1, 512, 1, exclude=frozenset({"b"})))


def test_hosts_an_administrator_took_out_get_nothing():
    """Services disabled or forced down (Overcast's records, given as ``out_of_service``): ComputeFilter."""
    d = HostDirectory(clock=Clock())
    beat(d, "a")
    beat(d, "b")
    assert [h.name for h in schedule(d.hosts(), Request(1, 512, 1, out_of_service=frozenset({"a"})))] == ["b"]
    with pytest.raises(NoValidHost, match="ComputeFilter refused 2"):
        schedule(d.hosts(), Request(1, 512, 1, out_of_service=frozenset({"a", "b"})))
