"""A region served by the libcloud driver with ``provider = "openstack"`` (issue 11's
``[clouds.lab-via-libcloud]``): libcloud's own OpenStack driver against a second ``overcast serve``
as the provider (the passthrough's upstream, with its service account), driven by the unmodified
``openstack`` CLI with ``--os-region-name lab-via-libcloud``. Every server is checked in the
provider's own list. The secret is given by reference (``file:``), libcloud's debug log is on, and
neither the front's log nor libcloud's shows it."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from overcast.core.image import backend_image_id
from overcast.testing.live import LiveServer, in_region, wait_for
from overcast.testing.passthrough import SERVICE_PROJECT, SERVICE_USER, Passthrough
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

REGION = "lab-via-libcloud"
WAIT = 90.0


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passthrough]:
    with Passthrough(tmp_path_factory.mktemp("libcloud-openstack-live"), start_front=False) as rig:
        yield rig


@pytest.fixture(scope="module")
def front(rig: Passthrough) -> Iterator[LiveServer]:
    root = rig.root / "libcloud-front"
    root.mkdir()
    secret = root / "lab-secret"
    secret.write_text(rig.password + "\n")
    secret.chmod(0o600)
    config = root / "overcast.toml"
    config.write_text(f"""
[ops]
reconcile_interval = 1

[clouds.RegionOne]
driver = "local"

[clouds.{REGION}]
driver = "libcloud"
provider = "openstack"
key = "{SERVICE_USER}"
secret = "file:{secret}"
auth_url = "{rig.upstream.auth_url}/v3"
project = "{SERVICE_PROJECT}"
""")
    with LiveServer(root / "data", config=config, startup_timeout=180,
                    env={"LIBCLOUD_DEBUG": str(root / "libcloud-debug.log")}) as server:
        server.libcloud_log = root / "libcloud-debug.log"  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def cli(front: LiveServer) -> OpenStackCLI:
    return OpenStackCLI(front.clouds_yaml, "overcast")


def in_lab(cli: OpenStackCLI) -> Callable[..., Any]:
    return in_region(cli, REGION)


def upstream_servers(rig: Passthrough, name: str) -> list[Any]:
    conn = rig.service_conn()
    try:
        return [s for s in conn.compute.servers(details=True) if s.name == name]
    finally:
        conn.close()


def upstream_volumes(rig: Passthrough, name: str) -> list[Any]:
    conn = rig.service_conn()
    try:
        return [v for v in conn.block_storage.volumes(details=True) if v.name == name and v.status != "deleting"]
    finally:
        conn.close()


def status(run: Callable[..., Any], name: str, wanted: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = run("server", "show", name)
        assert shown["status"] != "ERROR", json.dumps(shown, default=str)
        return shown if shown["status"] == wanted else None

    return wait_for(reached, WAIT, interval=0.2, max_interval=1.0, description=f"server {name} {wanted}")


def test_server_lifecycle_through_the_cli(front: LiveServer, rig: Passthrough, cli: OpenStackCLI) -> None:
    run = in_lab(cli)
    image = rig.active_image()
    ours = backend_image_id(REGION, image.id)  # the region's image for the provider's (decision 0025)
    assert wait_for(lambda: [i for i in run("image", "list") if i["ID"] == ours], WAIT,
                    description="the provider's image in the region's image list")
    flavors = {f["Name"]: f for f in run("flavor", "list")}
    assert "m1.tiny" in flavors
    key = f"key-{uuid.uuid4().hex[:8]}"
    cli.run("--os-region-name", REGION, "keypair", "create", key)
    name = f"lco-{uuid.uuid4().hex[:8]}"
    made = run("server", "create", "--flavor", "m1.tiny", "--image", ours, "--key-name", key, "--nic", "none",
               "--wait", name)
    assert made["status"] == "ACTIVE"
    assert {s["Name"]: s for s in run("server", "list")}[name]["Status"] == "ACTIVE"
    assert run("server", "show", name)["status"] == "ACTIVE"
    # in the provider: one server, ACTIVE, carrying the build's key, with the imported key pair
    [theirs] = upstream_servers(rig, name)
    assert theirs.status == "ACTIVE"
    assert theirs.metadata.get("overcast:key")
    assert theirs.key_name and theirs.key_name.startswith("overcast-")
    assert name not in {s["Name"] for s in cli("server", "list")}, "the server leaked into RegionOne"

    # what the driver does not declare is Nova's answer for a virt driver that lacks it (501)
    refused = cli.fails("--os-region-name", REGION, "server", "pause", name)
    assert "501" in refused.stderr, refused.stderr
    assert upstream_servers(rig, name)[0].status == "ACTIVE"

    cli.run("--os-region-name", REGION, "server", "reboot", "--wait", name)
    status(run, name, "ACTIVE")
    cli.run("--os-region-name", REGION, "server", "stop", name)
    status(run, name, "SHUTOFF")
    assert upstream_servers(rig, name)[0].status == "SHUTOFF"
    cli.run("--os-region-name", REGION, "server", "start", name)
    status(run, name, "ACTIVE")
    assert upstream_servers(rig, name)[0].status == "ACTIVE"

    # a volume: the provider's Cinder volume, attached by the provider's Nova and detached again
    volume = f"lcv-{uuid.uuid4().hex[:8]}"
    made_volume = run("volume", "create", "--size", "1", volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "available", WAIT, description="volume available")
    [cinder] = upstream_volumes(rig, volume)
    assert cinder.size == 1 and cinder.metadata.get("overcast_key")
    cli.run("--os-region-name", REGION, "server", "add", "volume", name, volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "in-use", WAIT, description="volume in-use")
    wait_for(lambda: [a for a in upstream_volumes(rig, volume)[0].attachments if a["server_id"] == theirs.id],
             WAIT, description="the volume attached in the provider")
    cli.run("--os-region-name", REGION, "server", "remove", "volume", name, volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "available", WAIT, description="volume detached")
    wait_for(lambda: not upstream_volumes(rig, volume)[0].attachments, WAIT,
             description="the volume detached in the provider")
    cli.run("--os-region-name", REGION, "volume", "delete", made_volume["id"])
    wait_for(lambda: not upstream_volumes(rig, volume), WAIT, description="the volume gone from the provider")

    cli.run("--os-region-name", REGION, "server", "delete", "--wait", name)
    assert name not in {s["Name"] for s in run("server", "list")}
    wait_for(lambda: not upstream_servers(rig, name), WAIT, description="the server gone from the provider")


def test_networks_security_groups_and_floating_ips_through_the_cli(rig: Passthrough, cli: OpenStackCLI) -> None:
    """The network family is the provider's Neutron through libcloud's connection: a network,
    subnet, router (gateway on the provider's ``public``) and security group are made there; a
    server on the network has the address the provider chose and the group asked for; a floating
    IP is the provider's, associated with the server's port."""
    run = in_lab(cli)
    suffix = uuid.uuid4().hex[:6]
    image = backend_image_id(REGION, rig.active_image().id)
    net = run("network", "create", f"lcn-{suffix}")
    run("subnet", "create", f"lcs-{suffix}", "--network", f"lcn-{suffix}", "--subnet-range", "10.78.0.0/24")
    run("router", "create", f"lcr-{suffix}")
    cli.run("--os-region-name", REGION, "router", "add", "subnet", f"lcr-{suffix}", f"lcs-{suffix}")
    cli.run("--os-region-name", REGION, "router", "set", "--external-gateway", "public", f"lcr-{suffix}")
    run("security", "group", "create", f"lcg-{suffix}")
    run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
        "--remote-ip", "198.51.100.0/24", f"lcg-{suffix}")
    conn = rig.service_conn()
    try:
        theirs = wait_for(lambda: [n for n in conn.network.networks(name=f"lcn-{suffix}")], WAIT,
                          description="the network in the provider")
        assert f"overcast-key:{net['id']}" in theirs[0].description
        wait_for(lambda: [s for s in conn.network.subnets(network_id=theirs[0].id) if s.cidr == "10.78.0.0/24"],
                 WAIT, description="the subnet in the provider")

        def group_rule() -> Any:
            groups = list(conn.network.security_groups(name=f"overcast-lcg-{suffix}"))
            rules = [r for g in groups for r in conn.network.security_group_rules(security_group_id=g.id)
                     if r.port_range_min == 22 and r.remote_ip_prefix == "198.51.100.0/24"]
            return (groups[0], rules[0]) if rules else None

        group, _rule = wait_for(group_rule, WAIT, description="the security group and its rule in the provider")

        name = f"lcnet-{suffix}"
        made = run("server", "create", "--flavor", "m1.tiny", "--image", image, "--network", f"lcn-{suffix}",
                   "--security-group", f"lcg-{suffix}", "--wait", name)
        assert made["status"] == "ACTIVE"
        [server] = upstream_servers(rig, name)
        addresses = [a["addr"] for values in server.addresses.values() for a in values]
        assert addresses and addresses[0].startswith("10.78.0."), server.addresses
        assert addresses[0] in json.dumps(run("server", "show", name)["addresses"])
        [port] = list(conn.network.ports(device_id=server.id))
        assert group.id in port.security_group_ids

        fip = run("floating", "ip", "create", "public")
        address = fip["floating_ip_address"]
        assert [i for i in conn.network.ips(floating_ip_address=address)], "the floating IP is not the provider's"
        cli.run("--os-region-name", REGION, "server", "add", "floating", "ip", name, address)
        wait_for(lambda: [i for i in conn.network.ips(floating_ip_address=address) if i.port_id == port.id], WAIT,
                 description="the floating IP associated in the provider")
        cli.run("--os-region-name", REGION, "server", "remove", "floating", "ip", name, address)
        wait_for(lambda: [i for i in conn.network.ips(floating_ip_address=address) if not i.port_id], WAIT,
                 description="the floating IP disassociated in the provider")
        cli.run("--os-region-name", REGION, "floating", "ip", "delete", address)
        wait_for(lambda: not list(conn.network.ips(floating_ip_address=address)), WAIT,
                 description="the floating IP released in the provider")
        cli.run("--os-region-name", REGION, "server", "delete", "--wait", name)
        wait_for(lambda: not upstream_servers(rig, name), WAIT, description="the server gone from the provider")
    finally:
        conn.close()


def test_coverage_shows_what_the_region_offers(front: LiveServer) -> None:
    """``overcast coverage --region`` lists the region's three families with what each lacks (the
    compute actions the driver does not declare: pause, ...)."""
    out = subprocess.run([front.python, "-m", "overcast", "--config", str(front.config),
                          "coverage", "--region", REGION], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [line.split() for line in out.stdout.splitlines() if line.strip().startswith(REGION)]
    offered = {line[2]: " ".join(line[3:]) for line in lines}
    assert all("not offered" not in offered[family] for family in ("compute", "volume", "network")), out.stdout
    assert "pause" in offered["compute"].partition("lacks")[2], out.stdout


def test_no_secret_in_any_log_line(front: LiveServer, rig: Passthrough, cli: OpenStackCLI) -> None:
    in_lab(cli)("server", "list")
    debug = front.libcloud_log.read_text()  # type: ignore[attr-defined]
    assert "/servers/detail" in debug, "libcloud's debug log was not written"
    for text in (debug, front.log_path.read_text()):
        assert rig.password not in text
    assert "X-Auth-Token: ***" in debug or "x-auth-token: ***" in debug.lower()
    out = subprocess.run(["grep", "-rl", rig.password, str(front.data_dir)], capture_output=True, text=True)
    assert out.stdout == "", f"the secret was written to {out.stdout}"


def _create(cli: OpenStackCLI, image: str, name: str, *more: str) -> Any:
    return cli.run("--os-region-name", REGION, "server", "create", "--flavor", "m1.tiny", "--image", image,
                   "--nic", "none", *more, name, check=False)


def _status(cli: OpenStackCLI, name: str) -> str:
    shown = cli.run("--os-region-name", REGION, "server", "show", "-f", "value", "-c", "status", name, check=False)
    return shown.stdout.strip() if shown.returncode == 0 else "GONE"


def test_a_server_deleted_in_the_provider_shows_after_reconciliation(rig: Passthrough, cli: OpenStackCLI) -> None:
    image = backend_image_id(REGION, rig.active_image().id)
    name = f"victim-{uuid.uuid4().hex[:6]}"
    assert _create(cli, image, name, "--wait").returncode == 0
    conn = rig.service_conn()
    try:
        [theirs] = [s for s in conn.compute.servers(details=True) if s.name == name]
        conn.compute.delete_server(theirs.id)
    finally:
        conn.close()
    wait_for(lambda: _status(cli, name) in ("ERROR", "DELETED", "GONE"), WAIT, interval=0.5,
             description="the server marked lost after reconciliation")


def test_provider_down_fails_fast_other_regions_keep_working_and_it_heals(rig: Passthrough,
                                                                          cli: OpenStackCLI) -> None:
    """The provider stopped: creates in the region answer 503 (its breaker open), its reads are
    served from records and RegionOne works; the provider back (same port and data): a create is
    accepted and reaches ACTIVE with no restart of Overcast. Last in the module: it stops the
    module's upstream."""
    image = backend_image_id(REGION, rig.active_image().id)
    before = f"up-{uuid.uuid4().hex[:6]}"
    assert _create(cli, image, before, "--wait").returncode == 0
    rig.upstream.stop()
    try:
        def refused() -> bool:
            answer = _create(cli, image, f"down-{uuid.uuid4().hex[:6]}")
            if answer.returncode == 0:
                return False
            assert "503" in answer.stderr or "unavailable" in answer.stderr.lower(), answer.stderr
            return True

        wait_for(refused, WAIT, interval=0.5, description=f"a create in {REGION} answered 503 (breaker open)")
        assert before in {s["Name"] for s in in_lab(cli)("server", "list")}
        # RegionOne (this front holds no image of its own: a volume there is the proof)
        other = f"other-{uuid.uuid4().hex[:6]}"
        made = cli("--os-region-name", "RegionOne", "volume", "create", "--size", "1", other)
        wait_for(lambda: cli("--os-region-name", "RegionOne", "volume", "show", other)["status"] == "available",
                 WAIT, description="a RegionOne volume available")
        cli.run("--os-region-name", "RegionOne", "volume", "delete", made["id"])
    finally:
        rig.upstream.restart()
    healed = f"healed-{uuid.uuid4().hex[:6]}"
    wait_for(lambda: _create(cli, image, healed).returncode == 0, WAIT, interval=0.5,
             description=f"a create in {REGION} accepted again")
    wait_for(lambda: _status(cli, healed) == "ACTIVE", WAIT, interval=0.5, description="the new server ACTIVE")
    assert len(upstream_servers(rig, healed)) == 1
