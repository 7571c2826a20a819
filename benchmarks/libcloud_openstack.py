"""Gateway overhead of a libcloud region on an OpenStack provider (issue 11, decision 0075): N
servers created to ACTIVE and deleted through Overcast (openstacksdk against a front ``overcast
serve`` whose region ``lab-via-libcloud`` is libcloud's OpenStack driver) vs the same libcloud
calls made directly against the same provider (a second ``overcast serve``, the passthrough's
upstream): create_node each, then list until all are running; destroy_node each, then list until
gone.

    .venv/bin/python -m benchmarks.libcloud_openstack --servers 20

Prints one line per side and the ratio Overcast/direct.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.libcloud_ec2 import compare, create_and_delete
from overcast.testing.live import LiveServer, sdk_connect, wait_for
from overcast.testing.passthrough import SERVICE_PROJECT, SERVICE_USER, Passthrough

REGION = "lab-via-libcloud"


def _options(rig: Passthrough) -> dict[str, Any]:
    return {"provider": "openstack", "key": SERVICE_USER, "secret": rig.password,
            "auth_url": rig.upstream.auth_url + "/v3", "project": SERVICE_PROJECT}


def direct(rig: Passthrough, count: int) -> tuple[float, float]:
    from libcloud.compute.base import NodeImage, NodeSize

    from overcast.drivers.libcloud.providers import DriverPool, parse_options

    driver = DriverPool(parse_options(_options(rig))).get()
    image = next(i for i in driver.list_images() if i.extra.get("status") == "active")
    size = NodeSize("1", "m1.tiny", 512, 1, None, None, driver)
    tag = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    nodes = [driver.create_node(name=f"direct-{tag}-{n}", size=size, image=NodeImage(image.id, image.name, driver))
             for n in range(count)]
    ids = {n.id for n in nodes}
    wait_for(lambda: all(n.state == "running" for n in driver.list_nodes() if n.id in ids), 900, interval=0.2,
             max_interval=0.5, description="direct nodes running")
    created = time.perf_counter() - started
    started = time.perf_counter()
    for node in nodes:
        driver.destroy_node(node)
    wait_for(lambda: not ids & {n.id for n in driver.list_nodes()}, 900, interval=0.2, max_interval=0.5,
             description="direct nodes gone")
    return created, time.perf_counter() - started


def through_overcast(rig: Passthrough, count: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="overcast-bench-libcloud-os-"))
    config = root / "overcast.toml"
    config.write_text(f'[clouds.RegionOne]\ndriver = "local"\n\n[clouds.{REGION}]\ndriver = "libcloud"\n'
                      f'provider = "openstack"\nkey = "{SERVICE_USER}"\nsecret = "env:LAB_PASSWORD"\n'
                      f'auth_url = "{rig.upstream.auth_url}/v3"\nproject = "{SERVICE_PROJECT}"\n')
    with LiveServer(root / "data", config=config, startup_timeout=180, env={"LAB_PASSWORD": rig.password}) as front:
        admin = sdk_connect(front.clouds_yaml, "overcast-admin", region_name=REGION)
        conn: Any = sdk_connect(front.clouds_yaml, "overcast", region_name=REGION)
        admin.set_compute_quotas(conn.current_project_id, instances=-1, cores=-1, ram=-1)
        image = wait_for(lambda: next((i for i in conn.image.images()
                                       if (i.properties or {}).get("overcast_backend_region") == REGION), None),
                         120, description="the provider's image in the region")
        return create_and_delete(conn, image.id, "1", count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=20)
    args = parser.parse_args()
    with Passthrough(Path(tempfile.mkdtemp(prefix="overcast-bench-upstream-")), start_front=False) as rig:
        compare(args.servers, lambda: direct(rig, args.servers), lambda: through_overcast(rig, args.servers))


if __name__ == "__main__":
    main()
