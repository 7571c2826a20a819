"""Two regions of the local driver behind one ``overcast serve``, driven by the unmodified
``openstack`` CLI with ``--os-region-name``: servers, volumes, key pairs and server groups are made,
listed and deleted in each region, and neither region sees anything of the other (0008, 0025).

The clouds.yaml Overcast writes lists every region (``regions:``), so the CLI accepts
``--os-region-name second`` as it does on a multi-region OpenStack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from overcast.testing.live import LiveServer, in_region, wait_for
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

WAIT = 60.0
REGIONS = ("RegionOne", "second")


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("two-regions")
    config = root / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "local"\n\n[clouds.second]\ndriver = "local"\n')
    with LiveServer(root / "data", config=config) as server:
        yield server


@pytest.fixture(scope="module")
def cli(two_regions: LiveServer) -> OpenStackCLI:
    return OpenStackCLI(two_regions.clouds_yaml, "overcast")


def _wait(run: Callable[..., Any], kind: str, name: str, status: str) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        nonlocal last
        last = run(kind, "show", name)
        if str(last.get("status", "")).lower() == "error":
            raise AssertionError(f"{kind} {name} went to error: {json.dumps(last, default=str)}")
        return last if str(last.get("status", "")).lower() == status.lower() else None

    return wait_for(reached, WAIT, interval=0.2, max_interval=1.0, description=f"{kind} {name} {status}")


def test_clouds_yaml_lists_every_region(two_regions: LiveServer) -> None:
    clouds = yaml.safe_load(two_regions.clouds_yaml.read_text())["clouds"]
    for name, cloud in clouds.items():
        assert cloud["regions"] == list(REGIONS), name
        assert cloud["region_name"] == "RegionOne", name


def test_each_region_has_its_own_servers_volumes_keys_and_groups(cli: OpenStackCLI, unique) -> None:  # noqa: ANN001
    made: dict[str, dict[str, str]] = {}
    for region in REGIONS:
        run = in_region(cli, region)
        names = {kind: unique(f"{kind}-{region.lower()}") for kind in ("server", "volume", "key", "group")}
        made[region] = names
        cli.run("--os-region-name", region, "keypair", "create", names["key"])  # prints the private key
        group = run("server", "group", "create", "--policy", "anti-affinity", names["group"])
        run("volume", "create", "--size", "1", names["volume"])
        server = run("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--key-name", names["key"],
                     "--hint", f"group={group['id']}", "--network", "private", "--wait", names["server"])
        assert server["status"] == "ACTIVE", server
    for region in REGIONS:
        run = in_region(cli, region)
        names = made[region]
        other = made[REGIONS[1] if region == REGIONS[0] else REGIONS[0]]
        _wait(run, "volume", names["volume"], "available")
        listed = {
            "server": {s["Name"] for s in run("server", "list")},
            "volume": {v["Name"] for v in run("volume", "list")},
            "key": {k["Name"] for k in run("keypair", "list")},
            "group": {g["Name"] for g in run("server", "group", "list")},
        }
        for kind, found in listed.items():
            assert names[kind] in found, (region, kind, found)
            assert other[kind] not in found, (region, kind, found)
        for command, name in ((("server",), other["server"]), (("keypair",), other["key"])):
            missing = cli.fails("--os-region-name", region, *command, "show", name)
            assert "No " in missing.stderr or "could not be found" in missing.stderr, (region, missing.stderr)
    for region in REGIONS:
        names = made[region]
        cli.run("--os-region-name", region, "server", "delete", "--wait", names["server"])
        cli.run("--os-region-name", region, "volume", "delete", names["volume"])
        cli.run("--os-region-name", region, "keypair", "delete", names["key"])
        cli.run("--os-region-name", region, "server", "group", "delete", names["group"])
    for region in REGIONS:
        run = in_region(cli, region)
        names = made[region]
        def volume_gone(run: Callable[..., Any] = run, name: str = names["volume"]) -> bool:
            return name not in {v["Name"] for v in run("volume", "list")}

        wait_for(volume_gone, WAIT, interval=0.2, description=f"volume {names['volume']} gone")
        assert names["server"] not in {s["Name"] for s in run("server", "list")}
        assert names["key"] not in {k["Name"] for k in run("keypair", "list")}
        assert names["group"] not in {g["Name"] for g in run("server", "group", "list")}
