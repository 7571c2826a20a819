"""The local cloud: persistence, concurrency, build delay, scheduling and every fault-injection knob."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from overcast.drivers import DriverConfigError, load_driver
from overcast.drivers.compute import (BuildRequest, Diagnostics, Flavor, Image, ImageRef, NetworkAttachment,
                                      PowerState, ServerGroup, ServerState)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, Conflict, DeleteFailed, InvalidRequest, NotFound, Unavailable)
from overcast.drivers.local import LocalComputeDriver

TINY = Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1)
SMALL = Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
CIRROS = Image(id="img-1", name="cirros")
CTX = CallContext(project_id="p", user_id="u", request_id="req-test")


def request(name: str = "web-1", key: str | None = None, **changes) -> BuildRequest:
    return BuildRequest(name=name, flavor=TINY, image=CIRROS, idempotency_key=key or f"key-{name}", **changes)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cloud(tmp_path):
    bundle = load_driver("local", {}, tmp_path)
    yield bundle.compute
    bundle.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def timed(tmp_path, clock):
    driver = LocalComputeDriver(tmp_path / "local-cloud.db", build_delay=5, clock=clock)
    yield driver
    driver.close()


# -- persistence ----------------------------------------------------------------------------------
def test_state_file_lives_in_the_data_dir(tmp_path):
    bundle = load_driver("local", {}, tmp_path)
    assert (tmp_path / "local-cloud.db").exists()
    assert bundle.info["persistent"] is True
    bundle.close()


def test_a_second_instance_on_the_same_data_dir_sees_the_servers(tmp_path):
    first = load_driver("local", {}, tmp_path).compute
    a = first.build(CTX, request("a"))
    b = first.build(CTX, request("b"))
    first.stop(CTX, b)
    first.attach_volume(CTX, b, "vol-1")
    second = load_driver("local", {}, tmp_path).compute
    assert {s.backend_id for s in second.list(CTX)} == {a, b}
    assert second.get(CTX, b).state is ServerState.STOPPED
    assert second.build(CTX, request("a")) == a  # idempotency survives too
    second.delete(CTX, a)
    with pytest.raises(NotFound):
        first.get(CTX, a)
    first.close()
    second.close()


def test_state_survives_a_restart(tmp_path):
    driver = load_driver("local", {}, tmp_path).compute
    backend_id = driver.build(CTX, request("persist"))
    driver.pause(CTX, backend_id)
    log = driver.console_output(CTX, backend_id)
    driver.close()
    again = load_driver("local", {}, tmp_path).compute
    info = again.get(CTX, backend_id)
    assert info.state is ServerState.PAUSED and info.power_state is PowerState.PAUSED
    assert again.console_output(CTX, backend_id) == log
    again.close()


def test_database_option_moves_the_file(tmp_path):
    bundle = load_driver("local", {"database": str(tmp_path / "elsewhere" / "cloud.db")}, tmp_path / "data")
    bundle.compute.build(CTX, request())
    assert (tmp_path / "elsewhere" / "cloud.db").exists()
    bundle.close()


def test_concurrent_builds_from_threads(tmp_path):
    driver = load_driver("local", {"hosts": 4}, tmp_path).compute
    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda _: driver.build(CTX, request("same", key="one-key")), range(16)))
        many = list(pool.map(lambda i: driver.build(CTX, request(f"s{i}")), range(40)))
    assert len(set(same)) == 1
    assert len(set(many)) == 40
    servers = driver.list(CTX)
    assert len(servers) == 41
    assert {s.host for s in servers} == {f"overcast-local-{i}" for i in range(1, 5)}
    driver.close()


def _build_many(path: str, prefix: str, count: int) -> list[str]:
    driver = LocalComputeDriver(Path(path))
    try:
        ids = [driver.build(CTX, request(f"{prefix}-{i}")) for i in range(count)]
        ids += [driver.build(CTX, request("shared", key="shared-key")) for _ in range(3)]
        return ids
    finally:
        driver.close()


def test_concurrent_builds_from_processes(tmp_path):
    path = str(tmp_path / "local-cloud.db")
    LocalComputeDriver(Path(path)).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_build_many, [(path, f"p{n}", 15) for n in range(3)])
    driver = LocalComputeDriver(Path(path))
    servers = driver.list(CTX)
    assert len(servers) == 3 * 15 + 1
    assert len({r[-1] for r in results}) == 1  # the shared key made one server across processes
    driver.close()


# -- build delay ----------------------------------------------------------------------------------
def test_build_delay_option(tmp_path):
    driver = load_driver("local", {"build_delay": 0.3}, tmp_path).compute
    backend_id = driver.build(CTX, request())
    info = driver.get(CTX, backend_id)
    assert info.state is ServerState.BUILDING and info.power_state is PowerState.NOSTATE
    assert driver.status(CTX, backend_id) is ServerState.BUILDING
    time.sleep(0.35)
    assert driver.get(CTX, backend_id).state is ServerState.ACTIVE
    driver.close()


def test_building_until_the_delay_has_passed(timed, clock):
    backend_id = timed.build(CTX, request())
    assert timed.get(CTX, backend_id).state is ServerState.BUILDING
    clock.now += 2.5
    info = timed.get(CTX, backend_id)
    assert info.state is ServerState.BUILDING and 40 <= info.progress <= 60
    with pytest.raises(Conflict):
        timed.stop(CTX, backend_id)  # nothing but delete while building
    clock.now += 2.5
    info = timed.get(CTX, backend_id)
    assert info.state is ServerState.ACTIVE and info.progress == 100
    assert [s.state for s in timed.list(CTX)] == [ServerState.ACTIVE]


def test_build_seconds_metadata_overrides_the_delay(timed, clock):
    quick = timed.build(CTX, request("quick", metadata={"overcast:build_seconds": "0"}))
    slow = timed.build(CTX, request("slow", metadata={"overcast:build_seconds": "60"}))
    assert timed.get(CTX, quick).state is ServerState.ACTIVE
    clock.now += 30
    assert timed.get(CTX, slow).state is ServerState.BUILDING
    clock.now += 30
    assert timed.get(CTX, slow).state is ServerState.ACTIVE


def test_bad_injection_metadata_is_invalid(cloud):
    with pytest.raises(InvalidRequest, match="overcast:build_seconds"):
        cloud.build(CTX, request(metadata={"overcast:build_seconds": "soon"}))
    with pytest.raises(InvalidRequest, match="overcast:fail_delete"):
        cloud.build(CTX, request(metadata={"overcast:fail_delete": "-1"}))


# -- fault injection ------------------------------------------------------------------------------
def test_fail_build_raises_build_failed_and_leaves_nothing(cloud):
    with pytest.raises(BuildFailed):
        cloud.build(CTX, request(metadata={"overcast:fail_build": "true"}))
    assert cloud.list(CTX) == []
    assert cloud.find(CTX, "key-web-1") is None


def test_fail_build_after_a_delay_goes_to_error(timed, clock):
    backend_id = timed.build(CTX, request(metadata={"overcast:fail_build": "True", "overcast:build_seconds": "3"}))
    assert timed.get(CTX, backend_id).state is ServerState.BUILDING
    clock.now += 3
    info = timed.get(CTX, backend_id)
    assert info.state is ServerState.ERROR and "overcast:fail_build" in info.fault
    timed.delete(CTX, backend_id)
    with pytest.raises(NotFound):
        timed.get(CTX, backend_id)


def test_fail_build_false_builds(cloud):
    backend_id = cloud.build(CTX, request(metadata={"overcast:fail_build": "false"}))
    assert cloud.get(CTX, backend_id).state is ServerState.ACTIVE


def test_fail_build_rate_option(tmp_path):
    always = load_driver("local", {"fail_build_rate": 1.0}, tmp_path / "a").compute
    with pytest.raises(BuildFailed):
        always.build(CTX, request())
    never = load_driver("local", {"fail_build_rate": 0}, tmp_path / "b").compute
    never.build(CTX, request())
    always.close()
    never.close()


def test_fail_delete_fails_the_first_n_deletes(cloud):
    backend_id = cloud.build(CTX, request(metadata={"overcast:fail_delete": "2"}))
    for _ in range(2):
        with pytest.raises(DeleteFailed):
            cloud.delete(CTX, backend_id)
        assert cloud.get(CTX, backend_id).state is ServerState.ACTIVE
    cloud.delete(CTX, backend_id)
    with pytest.raises(NotFound):
        cloud.get(CTX, backend_id)


def test_fail_delete_counts_persist(tmp_path):
    first = load_driver("local", {}, tmp_path).compute
    backend_id = first.build(CTX, request(metadata={"overcast:fail_delete": "1"}))
    with pytest.raises(DeleteFailed):
        first.delete(CTX, backend_id)
    first.close()
    second = load_driver("local", {}, tmp_path).compute
    second.delete(CTX, backend_id)
    assert second.list(CTX) == []
    second.close()


def test_unavailable_fails_the_first_n_calls_of_each_kind(cloud):
    req = request(metadata={"overcast:unavailable": "2"})
    for _ in range(2):
        with pytest.raises(Unavailable) as caught:
            cloud.build(CTX, req)
        assert caught.value.retryable
    assert cloud.list(CTX) == []
    backend_id = cloud.build(CTX, req)
    assert cloud.build(CTX, req) == backend_id  # a retried build after success finds it
    for _ in range(2):
        with pytest.raises(Unavailable):
            cloud.get(CTX, backend_id)
    assert cloud.get(CTX, backend_id).state is ServerState.ACTIVE
    for _ in range(2):
        with pytest.raises(Unavailable):
            cloud.stop(CTX, backend_id)
    assert cloud.get(CTX, backend_id).state is ServerState.ACTIVE  # a failed call changed nothing
    cloud.stop(CTX, backend_id)
    assert cloud.get(CTX, backend_id).state is ServerState.STOPPED
    for _ in range(2):
        with pytest.raises(Unavailable):
            cloud.delete(CTX, backend_id)
    cloud.delete(CTX, backend_id)
    assert cloud.list(CTX) == []


def test_unavailable_rate_option(tmp_path):
    flaky = load_driver("local", {"unavailable_rate": 1}, tmp_path).compute
    for call in (lambda: flaky.build(CTX, request()), lambda: flaky.list(CTX), lambda: flaky.get(CTX, "x"),
                 lambda: flaky.delete(CTX, "x")):
        with pytest.raises(Unavailable):
            call()
    flaky.close()


# -- lifecycle details ----------------------------------------------------------------------------
def test_actions_from_the_wrong_state_conflict(cloud):
    backend_id = cloud.build(CTX, request())
    with pytest.raises(Conflict, match="start"):
        cloud.start(CTX, backend_id)
    cloud.stop(CTX, backend_id)
    for action in (cloud.stop, cloud.pause, cloud.suspend, lambda ctx, i: cloud.change_password(ctx, i, "x")):
        with pytest.raises(Conflict):
            action(CTX, backend_id)
    with pytest.raises(Conflict):
        cloud.reboot(CTX, backend_id)           # soft reboot needs a running server
    cloud.reboot(CTX, backend_id, hard=True)    # hard reboot starts it
    assert cloud.get(CTX, backend_id).state is ServerState.ACTIVE


def test_resize_of_a_stopped_server_stays_stopped(cloud):
    backend_id = cloud.build(CTX, request())
    cloud.stop(CTX, backend_id)
    cloud.resize(CTX, backend_id, SMALL)
    info = cloud.get(CTX, backend_id)
    assert info.state is ServerState.RESIZED and info.power_state is PowerState.SHUTDOWN
    assert info.flavor_id == "2"
    cloud.confirm_resize(CTX, backend_id)
    assert cloud.get(CTX, backend_id).state is ServerState.STOPPED
    with pytest.raises(InvalidRequest, match="must change flavor"):
        cloud.resize(CTX, backend_id, SMALL)


def test_console_log_names_the_server_and_its_address_and_grows(cloud):
    port = NetworkAttachment(port_id="p1", network_id="n1", network_name="private", mac_address="fa:16:3e:00:00:01",
                             fixed_ips=("10.0.0.5",))
    backend_id = cloud.build(CTX, request("console-test", networks=(port,)))
    address = "10.0.0.5"
    log = cloud.console_output(CTX, backend_id)
    assert "console-test login:" in log and address in log and "Linux version" in log
    cloud.reboot(CTX, backend_id)
    longer = cloud.console_output(CTX, backend_id)
    assert longer.startswith(log) and len(longer) > len(log)
    assert "Reached target reboot.target" in longer
    assert longer.count("console-test login:") == 2
    assert cloud.console_output(CTX, backend_id, length=3).splitlines()[-1] == "console-test login: "
    assert len(cloud.console_output(CTX, backend_id, length=3).splitlines()) == 3


def test_networks_from_the_request_are_used(cloud):
    port = NetworkAttachment(port_id="p1", network_id="n1", network_name="public", mac_address="fa:16:3e:aa:bb:cc",
                             fixed_ips=("172.24.4.10",))
    backend_id = cloud.build(CTX, request(networks=(port,)))
    assert cloud.get(CTX, backend_id).networks == (port,)
    assert "172.24.4.10" in cloud.console_output(CTX, backend_id)


def test_a_server_without_networks_has_none(cloud):
    """Addresses are Overcast's (Neutron's IPAM): the backend never invents one."""
    assert cloud.get(CTX, cloud.build(CTX, request("isolated"))).networks == ()


def test_snapshot_is_an_image_the_cloud_keeps(cloud):
    """The snapshot stays in the local cloud (a qcow2-ish payload beside its database); Overcast gets
    a reference, the same one for the same key, and the image is listed until it is deleted."""
    backend_id = cloud.build(CTX, request("snappy"))
    keyed = CallContext(idempotency_key="snap-op-1")
    ref = cloud.snapshot(keyed, backend_id, "my-snap")
    assert isinstance(ref, ImageRef) and ref.size and ref.checksum
    assert cloud.snapshot(keyed, backend_id, "my-snap") == ref
    data = cloud.image_data(CTX, ref.backend_id)
    assert len(data) == ref.size
    assert data[:4] == b"QFI\xfb" and int.from_bytes(data[4:8], "big") == 3
    assert int.from_bytes(data[24:32], "big") == 1 << 30  # virtual size: the flavor's 1 GB disk
    assert b"my-snap" in data and b"snappy" in data
    assert [i.backend_id for i in cloud.images(CTX)] == [ref.backend_id]
    cloud.delete_image(CTX, ref.backend_id)
    assert cloud.images(CTX) == []
    with pytest.raises(NotFound):
        cloud.image_data(CTX, ref.backend_id)


def test_volume_devices(cloud):
    backend_id = cloud.build(CTX, request())
    assert cloud.attach_volume(CTX, backend_id, "v1").device == "/dev/vdb"
    assert cloud.attach_volume(CTX, backend_id, "v2").device == "/dev/vdc"
    assert cloud.attach_volume(CTX, backend_id, "v1").device == "/dev/vdb"  # again: the same attachment
    with pytest.raises(Conflict):
        cloud.attach_volume(CTX, backend_id, "v3", "/dev/vdc")
    cloud.detach_volume(CTX, backend_id, "v1")
    assert cloud.attach_volume(CTX, backend_id, "v3").device == "/dev/vdb"
    assert [a.device for a in cloud.volume_attachments(CTX, backend_id)] == ["/dev/vdb", "/dev/vdc"]


def test_rescue_shelve_pause_suspend_power_states(cloud):
    backend_id = cloud.build(CTX, request())
    expected = [
        (cloud.rescue, (None, None), ServerState.RESCUED, PowerState.RUNNING),
        (cloud.unrescue, (), ServerState.ACTIVE, PowerState.RUNNING),
        (cloud.pause, (), ServerState.PAUSED, PowerState.PAUSED),
        (cloud.unpause, (), ServerState.ACTIVE, PowerState.RUNNING),
        (cloud.suspend, (), ServerState.SUSPENDED, PowerState.SUSPENDED),
        (cloud.shelve, (), ServerState.SHELVED, PowerState.SHUTDOWN),
        (cloud.unshelve, (), ServerState.ACTIVE, PowerState.RUNNING),
    ]
    for action, args, state, power in expected:
        action(CTX, backend_id, *args)
        info = cloud.get(CTX, backend_id)
        assert (info.state, info.power_state) == (state, power), action.__name__


def test_diagnostics(cloud):
    port = NetworkAttachment(port_id="port-1", network_id="net-1", network_name="private",
                             mac_address="fa:16:3e:00:00:01", fixed_ips=("10.0.0.5",))
    medium = Flavor(id="3", name="m1.medium", vcpus=2, ram_mb=4096, disk_gb=40)
    backend_id = cloud.build(CTX, BuildRequest(name="web-1", flavor=medium, image=CIRROS, idempotency_key="key-web-1",
                                          networks=(port,)))
    cloud.attach_volume(CTX, backend_id, "vol-1")
    diag = cloud.diagnostics(CTX, backend_id)
    assert isinstance(diag, Diagnostics) and diag.power_state is PowerState.RUNNING
    assert (diag.hypervisor, diag.memory_max_mb, diag.memory_used_mb, len(diag.cpus)) == ("qemu", 4096, 4096, 2)
    assert [d.device for d in diag.disks] == ["vda", "vdb"]
    assert [(n.port_id, n.mac_address) for n in diag.nics] == [("port-1", "fa:16:3e:00:00:01")]
    cloud.stop(CTX, backend_id)
    stopped = cloud.diagnostics(CTX, backend_id)
    assert stopped.power_state is PowerState.SHUTDOWN and stopped.memory_used_mb == 0


# -- scheduling: hosts, zones, server groups ------------------------------------------------------
def test_default_is_one_host_in_nova(cloud):
    assert [(z.name, z.hosts) for z in cloud.zones(CTX)] == [("nova", ("overcast-local-1",))]
    assert cloud.get(CTX, cloud.build(CTX, request())).host == "overcast-local-1"
    with pytest.raises(InvalidRequest):
        cloud.build(CTX, request("elsewhere", availability_zone="az9"))


def test_hosts_and_zones(tmp_path):
    driver = load_driver("local", {"hosts": 4, "zones": ["nova", "az2"]}, tmp_path).compute
    assert [(z.name, z.hosts) for z in driver.zones(CTX)] == [
        ("nova", ("overcast-local-1", "overcast-local-3")), ("az2", ("overcast-local-2", "overcast-local-4"))]
    ids = [driver.build(CTX, request(f"z{i}", availability_zone="az2")) for i in range(4)]
    infos = [driver.get(CTX, i) for i in ids]
    assert {i.availability_zone for i in infos} == {"az2"}
    assert sorted(i.host for i in infos) == ["overcast-local-2", "overcast-local-2", "overcast-local-4",
                                              "overcast-local-4"]
    forced = driver.get(CTX, driver.build(CTX, request("forced", availability_zone="nova:overcast-local-3")))
    assert forced.host == "overcast-local-3"
    with pytest.raises(InvalidRequest):
        driver.build(CTX, request("bad", availability_zone="az2:overcast-local-1"))
    driver.close()


def test_hard_anti_affinity_with_more_members_than_hosts_fails(tmp_path):
    driver = load_driver("local", {"hosts": 2}, tmp_path).compute
    group = ServerGroup(id="g1", name="spread", policy="anti-affinity")
    driver.create_server_group(CTX, group)
    hosts = {driver.get(CTX, driver.build(CTX, request(f"m{i}", server_group=group))).host for i in range(2)}
    assert hosts == {"overcast-local-1", "overcast-local-2"}
    with pytest.raises(BuildFailed, match="No valid host was found"):
        driver.build(CTX, request("m2", server_group=group))
    assert len(driver.list(CTX)) == 2
    driver.close()


def test_affinity_and_soft_policies(tmp_path):
    driver = load_driver("local", {"hosts": 3}, tmp_path).compute
    together = ServerGroup(id="g-aff", name="together", policy="affinity")
    soft = ServerGroup(id="g-soft", name="soft", policy="soft-anti-affinity")
    driver.build(CTX, request("filler"))  # makes host 1 the busiest
    hosts = {driver.get(CTX, driver.build(CTX, request(f"a{i}", server_group=together))).host for i in range(4)}
    assert len(hosts) == 1
    soft_hosts = [driver.get(CTX, driver.build(CTX, request(f"s{i}", server_group=soft))).host for i in range(6)]
    assert sorted(soft_hosts.count(h) for h in set(soft_hosts)) == [2, 2, 2]
    with pytest.raises(InvalidRequest):
        driver.create_server_group(CTX, ServerGroup(id="bad", name="bad", policy="scatter"))
    driver.close()


# -- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, match", [
    ({"hostz": 2}, "hostz"),
    ({"hosts": 0}, "hosts"),
    ({"build_delay": "soon"}, "build_delay"),
    ({"build_delay": -1}, "build_delay"),
    ({"fail_build_rate": 2}, "fail_build_rate"),
    ({"zones": []}, "zone"),
])
def test_bad_options_are_clear(tmp_path, options, match):
    with pytest.raises(DriverConfigError, match=match):
        load_driver("local", options, tmp_path)


def test_options_from_strings(tmp_path):
    """Options set through OVERCAST_* environment variables arrive as strings."""
    driver = load_driver("local", {"hosts": "2", "zones": "nova, az2", "build_delay": "0"}, tmp_path).compute
    assert [z.name for z in driver.zones(CTX)] == ["nova", "az2"]
    assert {h for z in driver.zones(CTX) for h in z.hosts} == {"overcast-local-1", "overcast-local-2"}
    driver.close()


def test_threads_reading_while_writing(tmp_path):
    driver = load_driver("local", {}, tmp_path).compute
    ids = [driver.build(CTX, request(f"r{i}")) for i in range(5)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                assert len(driver.list(CTX)) >= 5
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(10):
        for backend_id in ids:
            driver.reboot(CTX, backend_id)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    driver.close()
