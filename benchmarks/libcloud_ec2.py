"""Gateway overhead of a libcloud region (issue 11): N servers created to ACTIVE and deleted
through Overcast (openstacksdk against ``overcast serve``, region ``aws`` on the libcloud driver,
provider ``ec2`` on ``moto_server``) vs the same libcloud calls made directly against the same moto
(create_node each, then list until all are running; destroy_node each, then list until gone).

    .venv/bin/python -m benchmarks.libcloud_ec2 --servers 100

Prints one line per side and the ratio Overcast/direct.

    .venv/bin/python -m benchmarks.libcloud_ec2 --list-nodes 1000

A region with N servers (made through Overcast, so moto holds the same N instances): the p50 of
``GET servers/detail?limit=N`` (served from Overcast's records) and of libcloud's ``list_nodes()``
straight against moto, 20 times each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from overcast.testing.emulators import MotoServer
from overcast.testing.live import LiveServer, OpenStackCLI, sdk_connect, wait_for

AMI_NAME = "amzn2-ami-hvm-2.0.20180810-x86_64-gp2"


def direct(moto: MotoServer, count: int) -> tuple[float, float]:
    from libcloud.compute.base import NodeImage, NodeSize

    from overcast.drivers.libcloud.providers import DriverPool, parse_options

    driver = DriverPool(parse_options({"provider": "ec2", "key": "bench", "secret": "bench-secret",
                                       "endpoint": moto.endpoint, "emulator": "moto"})).get()
    ami = moto.ec2().describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [AMI_NAME]}])
    image = NodeImage(ami["Images"][0]["ImageId"], AMI_NAME, driver)
    size = NodeSize("t2.micro", "t2.micro", 1024, 0, None, None, driver)
    tag = uuid.uuid4().hex
    started = time.perf_counter()
    nodes = [driver.create_node(name=f"direct-{n}", size=size, image=image, ex_metadata={"bench": tag})
             for n in range(count)]
    ids = {n.id for n in nodes}
    wait_for(lambda: all(n.state == "running" for n in driver.list_nodes(ex_filters={"tag:bench": tag})
                         if n.id in ids), 600, description="direct nodes running")
    created = time.perf_counter() - started
    started = time.perf_counter()
    for node in nodes:
        driver.destroy_node(node)
    wait_for(lambda: all(n.extra.get("status") == "terminated"
                         for n in driver.list_nodes(ex_filters={"tag:bench": tag})), 600,
             description="direct nodes terminated")
    return created, time.perf_counter() - started


def _region(moto: MotoServer) -> tuple[Path, Path]:
    root = Path(tempfile.mkdtemp(prefix="overcast-bench-libcloud-"))
    config = root / "overcast.toml"
    config.write_text(f"""
[clouds.RegionOne]
driver = "local"

[clouds.aws]
driver = "libcloud"
provider = "ec2"
key = "bench"
secret = "bench-secret"
region = "us-east-1"
endpoint = "{moto.endpoint}"
emulator = "moto"
sizes = ["t2.*"]
images = {{ owners = ["amazon"], name = "{AMI_NAME}" }}
""")
    return root, config


def _prepare(server: LiveServer) -> tuple[Any, Any]:
    admin = OpenStackCLI(server.clouds_yaml, "overcast-admin")
    admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
    demo_project = admin("project", "show", "demo")["id"]
    admin.run("--os-region-name", "aws", "quota", "set", "--instances", "-1", "--cores", "-1", "--ram", "-1",
              demo_project)
    conn: Any = sdk_connect(server.clouds_yaml, "overcast", region_name="aws")
    image = wait_for(lambda: conn.image.find_image(AMI_NAME), 120, description="the AMI in the region")
    return conn, image


def create_and_delete(conn: Any, image_id: str, flavor_id: str, count: int) -> tuple[float, float]:
    """Seconds for ``count`` servers created (openstacksdk, ``networks="none"``) to all ACTIVE, and
    for their deletes to all gone (shared with ``benchmarks.libcloud_openstack``)."""
    started = time.perf_counter()
    servers = [conn.compute.create_server(name=f"bench-{n}", flavor_id=flavor_id, image_id=image_id,
                                          networks="none") for n in range(count)]
    ids = {s.id for s in servers}

    def all_active() -> bool:
        states = {s.id: s.status for s in conn.compute.servers() if s.id in ids}
        if "ERROR" in states.values():
            raise RuntimeError("a server went to ERROR")
        return len(states) == count and set(states.values()) == {"ACTIVE"}

    wait_for(all_active, 900, interval=0.2, max_interval=0.5, description="servers ACTIVE")
    created = time.perf_counter() - started
    started = time.perf_counter()
    for server_id in ids:
        conn.compute.delete_server(server_id)
    wait_for(lambda: not ids & {s.id for s in conn.compute.servers()}, 900, interval=0.2, max_interval=0.5,
             description="servers gone")
    return created, time.perf_counter() - started


def through_overcast(moto: MotoServer, count: int) -> tuple[float, float]:
    root, config = _region(moto)
    with LiveServer(root / "data", config=config, startup_timeout=180) as server:
        conn, image = _prepare(server)
        return create_and_delete(conn, image.id, "t2.micro", count)


def listing(moto: MotoServer, count: int, rounds: int = 20) -> tuple[float, float]:
    """p50 seconds of servers/detail?limit=count through Overcast and of list_nodes() on moto."""
    from concurrent.futures import ThreadPoolExecutor

    from overcast.drivers.libcloud.compute import Ec2Dialect
    from overcast.drivers.libcloud.providers import DriverPool, parse_options

    root, config = _region(moto)
    with LiveServer(root / "data", config=config, startup_timeout=180) as server:
        conn, image = _prepare(server)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: conn.compute.create_server(name=f"list-{n}", flavor_id="t2.micro",
                                                                image_id=image.id, networks="none"), range(count)))
        wait_for(lambda: sum(s.status == "ACTIVE" for s in conn.compute.servers()) >= count, 1800, interval=1,
                 max_interval=5, description=f"{count} servers ACTIVE")
        url = conn.compute.get_endpoint().rstrip("/") + f"/servers/detail?limit={count}"
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = conn.session.get(url)
            times.append(time.perf_counter() - started)
            assert len(answer.json()["servers"]) == count
        overcast_p50 = sorted(times)[rounds // 2]
    settings = parse_options({"provider": "ec2", "key": "bench", "secret": "bench-secret",
                              "endpoint": moto.endpoint, "emulator": "moto"})
    driver = DriverPool(settings).get()
    first_page = len(driver.list_nodes())
    if first_page < count:  # libcloud's list_nodes reads one page: time the same calls over every page
        print(f"libcloud's list_nodes() returned {first_page} of {count} (one page); timing every page")
    dialect = Ec2Dialect(settings)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        nodes = driver.list_nodes() if first_page >= count else dialect.describe(driver, {})
        times.append(time.perf_counter() - started)
        assert len(nodes) >= count
    return overcast_p50, sorted(times)[rounds // 2]


def compare(count: int, run_direct: Callable[[], tuple[float, float]],
            run_ours: Callable[[], tuple[float, float]], *, direct_gone: str = "gone") -> None:
    """Runs ``count`` creates and deletes straight through libcloud, then through Overcast, and prints
    both and their ratios (each run gives (seconds to running/ACTIVE, seconds to gone))."""
    d_create, d_delete = run_direct()
    print(f"direct libcloud: {count} creates to running {d_create:.2f}s, deletes to {direct_gone} "
          f"{d_delete:.2f}s", flush=True)
    o_create, o_delete = run_ours()
    print(f"through overcast: {count} creates to ACTIVE {o_create:.2f}s, deletes to gone {o_delete:.2f}s")
    print(f"ratio overcast/direct: creates {o_create / d_create:.2f}, deletes {o_delete / d_delete:.2f}, "
          f"total {(o_create + o_delete) / (d_create + d_delete):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--list-nodes", type=int, default=0, help="measure listing a region of this many servers")
    args = parser.parse_args()
    if args.list_nodes:
        with MotoServer() as moto:
            ours, direct_p50 = listing(moto, args.list_nodes)
        print(f"{args.list_nodes} servers: servers/detail?limit={args.list_nodes} p50 {ours * 1000:.0f} ms "
              f"(Overcast's records); libcloud DescribeInstances, every page, on moto p50 {direct_p50 * 1000:.0f} ms")
        return
    with MotoServer() as moto:
        compare(args.servers, lambda: direct(moto, args.servers), lambda: through_overcast(moto, args.servers),
                direct_gone="terminated")


if __name__ == "__main__":
    main()
