"""The unmodified ``openstack`` CLI against a live server with two regions of the local driver
(``[clouds.RegionOne]`` and ``[clouds.second]``): with ``--os-region-name`` it creates, lists and
deletes networks, subnets, ports, routers, floating IPs and security groups in each region, and
sees nothing of the other."""

from __future__ import annotations

from typing import Iterator

import pytest

from overcast.testing.live import CLIError, LiveServer
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

REGIONS = ("RegionOne", "second")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    work = tmp_path_factory.mktemp("regions")
    config = work / "overcast.toml"
    config.write_text("".join(f'[clouds.{name}]\ndriver = "local"\n\n' for name in REGIONS))
    server = LiveServer(work / "data", config=config)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cli(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> OpenStackCLI:
    """``openstack --os-cloud overcast`` with a clouds.yaml that lists both regions."""
    entry = server.cloud("overcast")
    entry["regions"] = list(REGIONS)
    path = server.write_clouds_yaml(tmp_path_factory.mktemp("yaml") / "clouds.yaml", {"overcast": entry})
    return OpenStackCLI(path, "overcast")


def _in(cli: OpenStackCLI, region: str, *args: str):  # noqa: ANN202
    return cli("--os-region-name", region, *args)


def _run(cli: OpenStackCLI, region: str, *args: str) -> None:
    cli.run("--os-region-name", region, *args)


def _names(cli: OpenStackCLI, region: str, *what: str) -> set[str]:
    return {row["Name"] for row in _in(cli, region, *what, "list")}


@pytest.mark.parametrize("region", REGIONS)
def test_the_cli_works_in_each_region_and_sees_nothing_of_the_other(cli: OpenStackCLI, region: str) -> None:
    other = next(r for r in REGIONS if r != region)
    tag = region.lower()
    network = _in(cli, region, "network", "create", f"net-{tag}")
    subnet = _in(cli, region, "subnet", "create", f"sub-{tag}", "--network", network["id"],
                 "--subnet-range", "10.150.0.0/24")
    port = _in(cli, region, "port", "create", f"port-{tag}", "--network", network["id"])
    assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
    router = _in(cli, region, "router", "create", f"router-{tag}")
    _run(cli, region, "router", "set", router["id"], "--external-gateway", "public")
    _run(cli, region, "router", "add", "subnet", router["id"], subnet["id"])
    fip = _in(cli, region, "floating", "ip", "create", "public")
    _run(cli, region, "floating", "ip", "set", "--port", port["id"], fip["id"])
    group = _in(cli, region, "security", "group", "create", f"group-{tag}")
    rule = _in(cli, region, "security", "group", "rule", "create", group["id"], "--protocol", "tcp",
               "--dst-port", "22")

    for what, name in ((("network",), network["name"]), (("subnet",), subnet["name"]), (("port",), port["name"]),
                       (("router",), router["name"]), (("security", "group"), group["name"])):
        assert name in _names(cli, region, *what), what
        assert name not in _names(cli, other, *what), what
    assert fip["id"] in {f["ID"] for f in _in(cli, region, "floating", "ip", "list")}
    assert fip["id"] not in {f["ID"] for f in _in(cli, other, "floating", "ip", "list")}
    for what, item in ((("network",), network), (("port",), port), (("router",), router),
                       (("security", "group"), group)):
        with pytest.raises(CLIError):
            _in(cli, other, *what, "show", item["id"])
    # each region has its own default topology
    assert {"public", "private"} <= _names(cli, region, "network")
    assert _in(cli, region, "network", "show", "public")["id"] != _in(cli, other, "network", "show", "public")["id"]

    _run(cli, region, "security", "group", "rule", "delete", rule["id"])
    _run(cli, region, "security", "group", "delete", group["id"])
    _run(cli, region, "floating", "ip", "delete", fip["id"])
    _run(cli, region, "router", "remove", "subnet", router["id"], subnet["id"])
    _run(cli, region, "router", "delete", router["id"])
    _run(cli, region, "port", "delete", port["id"])
    _run(cli, region, "subnet", "delete", subnet["id"])
    _run(cli, region, "network", "delete", network["id"])
    assert network["name"] not in _names(cli, region, "network")
