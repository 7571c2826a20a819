"""Gateway overhead of a libcloud region (issue 11): N servers created to ACTIVE and deleted
through Overcast (openstacksdk against ``overcast serve``, region ``aws`` on the libcloud driver,
provider ``ec2`` on ``moto_server``) vs the same libcloud calls made directly against the same moto
(create_node each, then list until all are running; destroy_node each, then list until gone).

    .venv/bin/python -m benchmarks.libcloud_ec2 --servers 100

Prints one line per side and the ratio Overcast/direct.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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


def through_overcast(moto: MotoServer, count: int) -> tuple[float, float]:
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
    with LiveServer(root / "data", config=config) as server:
        admin = OpenStackCLI(server.clouds_yaml, "overcast-admin")
        admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
        demo_project = admin("project", "show", "demo")["id"]
        admin.run("--os-region-name", "aws", "quota", "set", "--instances", "-1", "--cores", "-1", "--ram", "-1",
                  demo_project)
        conn: Any = sdk_connect(server.clouds_yaml, "overcast", region_name="aws")
        image = wait_for(lambda: conn.image.find_image(AMI_NAME), 120, description="the AMI in the region")
        started = time.perf_counter()
        servers = [conn.compute.create_server(name=f"bench-{n}", flavor_id="t2.micro", image_id=image.id,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=100)
    args = parser.parse_args()
    with MotoServer() as moto:
        d_create, d_delete = direct(moto, args.servers)
        print(f"direct libcloud: {args.servers} creates to running {d_create:.2f}s, deletes to terminated "
              f"{d_delete:.2f}s", flush=True)
        o_create, o_delete = through_overcast(moto, args.servers)
        print(f"through overcast: {args.servers} creates to ACTIVE {o_create:.2f}s, deletes to gone {o_delete:.2f}s")
        print(f"ratio overcast/direct: creates {o_create / d_create:.2f}, deletes {o_delete / d_delete:.2f}, "
              f"total {(o_create + o_delete) / (d_create + d_delete):.2f}")


if __name__ == "__main__":
    main()
