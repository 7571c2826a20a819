"""The passthrough region end to end: a second ``overcast serve`` (local driver) is the upstream
OpenStack, and the front ``overcast serve`` has a region ``lab`` with ``driver = "openstack"``
pointed at the upstream's Keystone with a service account made there (issue 10 §3, decision 0041).

The unmodified ``openstack`` CLI (with ``--debug``, so every HTTP answer it read is in its output)
drives the front with ``--os-region-name lab``; the upstream is asked directly, as the service
account and as its admin, what it holds. Nothing here is a mock: the upstream is a real OpenStack API.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any, Iterator

import pytest
from cryptography.fernet import InvalidToken

from overcast.testing.live import sdk_connect, wait_for
from overcast.testing.passthrough import Passthrough
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

WAIT = 90.0
FERNET = re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}")


class RecordingCLI(OpenStackCLI):
    """The CLI with ``--debug``, keeping every command's output (request/response bodies included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outputs: list[str] = []

    def argv(self, args: tuple[str, ...], cloud: str | None) -> list[str]:
        argv = super().argv(args, cloud)
        return argv[:1] + ["--debug"] + argv[1:]

    def run(self, *args: str, **kwargs: Any) -> Any:
        kwargs.setdefault("check", True)
        check = kwargs.pop("check")
        proc = super().run(*args, check=False, **kwargs)
        self.outputs.append(proc.stdout + "\n" + proc.stderr)
        if check and proc.returncode != 0:
            from overcast.testing.live import CLIError

            raise CLIError(self.argv(args, kwargs.get("cloud")), proc.returncode, proc.stdout, proc.stderr[-4000:])
        return proc

    def __call__(self, *args: str, cloud: str | None = None, env: Any = None) -> Any:
        proc = self.run(*args, "-f", "json", cloud=cloud, env=env)
        return json.loads(proc.stdout)


#: lab's upstream lists come two to a page (every page is followed); the breaker opens after two
#: failures and lets a trial through after 15 s; the reconciler runs every 2 s
LAB_CONFIG = "page_size = 2\n\n[clouds.lab.ops]\nbreaker_threshold = 2\nbreaker_reset_seconds = 15\n"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passthrough]:
    # the upstream serves its testing API (fault rules) to its admin: the truncated-page drill
    with Passthrough(tmp_path_factory.mktemp("passthrough-live"), front_extra=LAB_CONFIG,
                     upstream_env={"OVERCAST_TESTING_ADMIN_API": "true"},
                     front_env={"OVERCAST_OPS_RECONCILE_INTERVAL": "2",
                                # the upstream's quotas are read afresh for every create (not kept 5 s)
                                "OVERCAST_OPS_HEADROOM_SECONDS": "0"}) as rig:
        yield rig


@pytest.fixture(scope="module")
def cli(rig: Passthrough) -> RecordingCLI:
    assert rig.front is not None
    return RecordingCLI(rig.front.clouds_yaml, "overcast")


def lab(cli: RecordingCLI, *args: str) -> Any:
    return cli("--os-region-name", "lab", *args)


def lab_run(cli: RecordingCLI, *args: str) -> Any:
    return cli.run("--os-region-name", "lab", *args)


def backend_id(rig: Passthrough, table: str, overcast_id: str) -> str | None:
    assert rig.front is not None
    with sqlite3.connect(rig.front.data_dir / "overcast.db") as db:
        row = db.execute(f"SELECT backend_id FROM {table} WHERE id = ?", (overcast_id,)).fetchone()  # noqa: S608
    return row[0] if row else None


def wait_status(cli: RecordingCLI, kind: str, name: str, *statuses: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = lab(cli, kind, "show", name)
        status = str(shown.get("status", "")).lower()
        if status == "error" and "error" not in statuses:
            raise AssertionError(f"{kind} {name} went to error: {shown}")
        return shown if status in statuses else None

    return wait_for(reached, WAIT, interval=0.2, max_interval=1.0, description=f"{kind} {name} {statuses}")


def test_the_cli_through_the_lab_region(rig: Passthrough, cli: RecordingCLI) -> None:
    upstream = rig.service_conn()
    try:
        flavors = {f["Name"] for f in lab(cli, "flavor", "list")}
        assert "m1.tiny" in flavors
        upstream_images = {i.id for i in upstream.image.images()}
        images = lab(cli, "image", "list", "--long")
        lab_images = [i for i in images if i["ID"] not in upstream_images and i["Name"] == "cirros"
                      and "overcast_backend_region" in json.dumps(i.get("Properties") or i.get("Tags") or "")]
        shown = [lab(cli, "image", "show", i["ID"]) for i in images if i["Name"] == "cirros"]
        backend = [s for s in shown if "overcast_backend_region" in json.dumps(s.get("properties") or {})]
        assert backend, f"the upstream's cirros is not in lab's image list: {shown}"
        image_id = backend[0]["id"]
        del lab_images

        lab_run(cli, "keypair", "create", "pt-key")
        net = lab(cli, "network", "create", "pt-net")
        subnet = lab(cli, "subnet", "create", "pt-subnet", "--network", "pt-net", "--subnet-range", "10.77.0.0/24")
        router = lab(cli, "router", "create", "pt-router")
        lab_run(cli, "router", "add", "subnet", "pt-router", "pt-subnet")
        lab_run(cli, "router", "set", "--external-gateway", "public", "pt-router")

        def realised(table: str, item_id: str) -> str | None:
            return backend_id(rig, table, item_id)

        for table, item in (("net_network", net["id"]), ("net_subnet", subnet["id"]), ("net_router", router["id"])):
            upstream_id = wait_for(lambda t=table, i=item: realised(t, i), WAIT, description=f"{table} realised")
            getter = {"net_network": upstream.network.get_network, "net_subnet": upstream.network.get_subnet,
                      "net_router": upstream.network.get_router}[table]
            assert getter(upstream_id).id == upstream_id

        server = lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--network", "pt-net",
                     "--key-name", "pt-key", "--wait", "pt-server")
        assert server["status"] == "ACTIVE"
        server_backend = backend_id(rig, "server", server["id"])
        assert server_backend and server_backend != server["id"]
        upstream_server = upstream.compute.get_server(server_backend)
        assert upstream_server.name == "pt-server" and upstream_server.status == "ACTIVE"
        assert server_backend in {s.id for s in upstream.compute.servers()}
        # the address is the upstream's (provider-owned IPAM)
        shown = lab(cli, "server", "show", "pt-server")
        upstream_addresses = {a["addr"] for addrs in upstream_server.addresses.values() for a in addrs}
        assert upstream_addresses and upstream_addresses <= set(re.findall(r"\d+\.\d+\.\d+\.\d+",
                                                                           json.dumps(shown["addresses"])))

        fip = lab(cli, "floating", "ip", "create", "public")
        [port] = lab(cli, "port", "list", "--server", "pt-server")
        # the address is the upstream's choice, in the create's answer as Neutron gives it
        fip_backend = backend_id(rig, "net_floating_ip", fip["id"])
        assert fip_backend, "the floating IP was answered before the upstream made it"
        upstream_address = upstream.network.get_ip(fip_backend).floating_ip_address
        assert fip["floating_ip_address"] == upstream_address
        # `floating ip set --port` and `unset --port` (by id)...
        lab_run(cli, "floating", "ip", "set", "--port", port["ID"], fip["id"])
        assert lab(cli, "floating", "ip", "show", fip["id"])["port_id"] == port["ID"]
        lab_run(cli, "floating", "ip", "unset", "--port", fip["id"])
        assert not lab(cli, "floating", "ip", "show", fip["id"])["port_id"]
        # ...and `server add floating ip`, which finds the floating IP by its address
        lab_run(cli, "server", "add", "floating", "ip", "pt-server", fip["floating_ip_address"])
        assert lab(cli, "floating", "ip", "show", fip["id"])["port_id"] == port["ID"]
        port_backend = backend_id(rig, "net_port", port["ID"])
        wait_for(lambda: upstream.network.get_ip(fip_backend).port_id == port_backend, WAIT,
                 description="upstream floating IP associated")

        lab_run(cli, "server", "reboot", "--wait", "pt-server")
        lab_run(cli, "server", "stop", "pt-server")
        wait_status(cli, "server", "pt-server", "shutoff")
        assert upstream.compute.get_server(server_backend).status == "SHUTOFF"
        lab_run(cli, "server", "start", "pt-server")
        wait_status(cli, "server", "pt-server", "active")
        # rescue and a password change reach the upstream's Nova
        lab_run(cli, "server", "rescue", "--image", image_id, "pt-server")
        wait_status(cli, "server", "pt-server", "rescue")
        assert upstream.compute.get_server(server_backend).status == "RESCUE"
        lab_run(cli, "server", "unrescue", "pt-server")
        wait_status(cli, "server", "pt-server", "active")
        lab_run(cli, "server", "set", "--password", "Pt-secret-1", "pt-server")
        wait_status(cli, "server", "pt-server", "active")

        volume = lab(cli, "volume", "create", "--size", "1", "pt-volume")
        wait_status(cli, "volume", "pt-volume", "available")
        volume_backend = backend_id(rig, "volume", volume["id"])
        assert volume_backend and upstream.block_storage.get_volume(volume_backend).name == "pt-volume"
        lab_run(cli, "server", "add", "volume", "pt-server", "pt-volume")
        wait_status(cli, "volume", "pt-volume", "in-use")
        wait_for(lambda: upstream.block_storage.get_volume(volume_backend).status == "in-use", WAIT,
                 description="upstream volume in-use")
        attached = [a["server_id"] for a in upstream.block_storage.get_volume(volume_backend).attachments]
        assert attached == [server_backend]
        lab_run(cli, "server", "remove", "volume", "pt-server", "pt-volume")
        wait_status(cli, "volume", "pt-volume", "available")
        wait_for(lambda: upstream.block_storage.get_volume(volume_backend).status == "available", WAIT,
                 description="upstream volume detached")

        lab_run(cli, "server", "delete", "--wait", "pt-server")
        wait_for(lambda: server_backend not in {s.id for s in upstream.compute.servers()}, WAIT,
                 description="upstream server gone")
        lab_run(cli, "volume", "delete", "pt-volume")
        wait_for(lambda: volume_backend not in {v.id for v in upstream.block_storage.volumes()}, WAIT,
                 description="upstream volume gone")
        # the root region is untouched by all of it, and sees nothing of lab
        assert "pt-net" not in {n["Name"] for n in cli("network", "list")}
    finally:
        upstream.close()


def image_backend(rig: Passthrough, image_id: str) -> str | None:
    assert rig.front is not None
    with sqlite3.connect(rig.front.data_dir / "overcast.db") as db:
        row = db.execute("SELECT backend_id FROM image_location WHERE image_id = ? AND cloud = 'lab'",
                         (image_id,)).fetchone()
    return row[0] if row else None


def test_snapshot_and_shelve_through_the_lab_region(rig: Passthrough, cli: RecordingCLI) -> None:
    """``server image create --wait`` makes the image upstream (createImage there), the lab image
    shows it queued/saving then active, and deleting it deletes the upstream copy; shelve and
    unshelve pass through to the upstream's Nova (decision 0056), the ``<name>-shelved`` image
    appearing in lab while shelved and the upstream's own shelve snapshot never listed in lab."""
    upstream = rig.service_conn()
    try:
        image = next(i for i in upstream.image.images() if i.status == "active" and i.name == "cirros")
        lab_cirros = next(i["ID"] for i in lab(cli, "image", "list") if i["Name"] == "cirros"
                          and image_backend(rig, i["ID"]) == image.id)
        lab_run(cli, "server", "create", "--flavor", "m1.tiny", "--image", lab_cirros, "--nic", "none",
                "--wait", "snap-server")
        server = lab(cli, "server", "show", "snap-server")
        server_backend = backend_id(rig, "server", server["id"])
        assert server_backend

        before = len(cli.outputs)
        snap = lab(cli, "server", "image", "create", "--wait", "--name", "snap-1", "snap-server")
        snap = lab(cli, "image", "show", snap["id"])
        assert snap["status"] == "active" and snap["name"] == "snap-1"
        seen = set(re.findall(r'"status": "(\w+)"', "".join(cli.outputs[before:])))
        assert "active" in seen and seen <= {"queued", "saving", "active", "ACTIVE"}, seen
        snap_backend = image_backend(rig, snap["id"])
        assert snap_backend and snap_backend != snap["id"]
        upstream_image = upstream.image.get_image(snap_backend)
        assert upstream_image.status == "active" and upstream_image.name == "snap-1"
        assert upstream_image.instance_uuid == server_backend
        # the upstream's copy is the lab image, not a second (public) image of the region
        assert [i["Name"] for i in lab(cli, "image", "list") if i["Name"] == "snap-1"] == ["snap-1"]
        lab_run(cli, "image", "delete", "snap-1")
        wait_for(lambda: snap_backend not in {i.id for i in upstream.image.images()}, WAIT,
                 description="upstream snapshot deleted")

        lab_run(cli, "server", "shelve", "snap-server")
        wait_status(cli, "server", "snap-server", "shelved_offloaded")
        assert upstream.compute.get_server(server_backend).status == "SHELVED_OFFLOADED"
        [shelved] = [i for i in lab(cli, "image", "list") if i["Name"] == "snap-server-shelved"]
        shelved_backend = image_backend(rig, shelved["ID"])
        assert shelved_backend and upstream.image.get_image(shelved_backend).status == "active"
        lab_run(cli, "server", "unshelve", "snap-server")
        wait_status(cli, "server", "snap-server", "active")
        assert upstream.compute.get_server(server_backend).status == "ACTIVE"
        wait_for(lambda: shelved_backend not in {i.id for i in upstream.image.images()}, WAIT,
                 description="upstream copy of the shelved image deleted")
        assert "snap-server-shelved" not in {i["Name"] for i in lab(cli, "image", "list")}
        lab_run(cli, "server", "delete", "--wait", "snap-server")
    finally:
        upstream.close()


def test_a_volume_from_an_image_the_upstream_holds(rig: Passthrough, cli: RecordingCLI, tmp_path: Any) -> None:
    """Cinder's ``imageRef`` in lab: an image of the upstream's is written there by the upstream's
    Cinder (the upstream volume is made from the upstream image); an image only Overcast stores is
    refused with Cinder's 400 naming imageRef, nothing recorded."""
    upstream = rig.service_conn()
    try:
        image = next(i for i in upstream.image.images() if i.status == "active" and i.name == "cirros")
        lab_cirros = next(i["ID"] for i in lab(cli, "image", "list") if i["Name"] == "cirros"
                          and image_backend(rig, i["ID"]) == image.id)
        volume = lab(cli, "volume", "create", "--size", "1", "--image", lab_cirros, "img-volume")
        shown = wait_status(cli, "volume", "img-volume", "available")
        assert shown["bootable"] in (True, "true") and volume["id"] == shown["id"]
        volume_backend = backend_id(rig, "volume", volume["id"])
        assert volume_backend
        made = upstream.block_storage.get_volume(volume_backend)
        assert made.status == "available" and (made.volume_image_metadata or {}).get("image_id") == image.id

        local = tmp_path / "overcast-only.img"
        local.write_bytes(b"overcast only" * 64)
        only = cli("image", "create", "--disk-format", "raw", "--file", str(local), "overcast-only")
        refused = cli.run("--os-region-name", "lab", "volume", "create", "--size", "1", "--image", only["id"],
                          "refused-volume", check=False)
        out = refused.stdout + refused.stderr
        assert refused.returncode != 0 and re.search(r"\b400\b", out) and "imageRef" in out, out[-2000:]
        assert "refused-volume" not in {v["Name"] for v in lab(cli, "volume", "list")}
        lab_run(cli, "volume", "delete", "img-volume")
        wait_for(lambda: volume_backend not in {v.id for v in upstream.block_storage.volumes()}, WAIT,
                 description="upstream volume gone")
    finally:
        upstream.close()


def test_no_credential_or_upstream_token_reaches_the_client_or_the_log(rig: Passthrough, cli: RecordingCLI) -> None:
    """The service account's password, any token the upstream issued and the upstream's address
    appear in no answer the CLI read (``--debug`` prints them all) nor in the front's log."""
    from overcast.core.keys import KeyRepository

    assert rig.front is not None
    lab(cli, "server", "list")
    lab(cli, "network", "list")
    answers = "\n".join(cli.outputs)
    log = rig.front.log_path.read_text(errors="replace")
    assert answers and log
    upstream_keys = KeyRepository(rig.upstream.data_dir / "fernet-keys").fernet()
    for where, text in (("a CLI answer", answers), ("the front's log", log)):
        assert rig.password not in text, f"the service account's password is in {where}"
        for candidate in FERNET.findall(text):
            try:
                upstream_keys.decrypt(candidate.encode())
            except InvalidToken:
                continue
            raise AssertionError(f"a token the upstream issued is in {where}")
    assert f"127.0.0.1:{rig.upstream.port}" not in answers, "the upstream's address reached a client"


def test_an_upstream_quota_refusal_reaches_the_client(rig: Passthrough, cli: RecordingCLI) -> None:
    """With the upstream project's quotas at 0 (set through the upstream's own admin API), a server
    create in lab is the upstream Nova's 403 and a volume create its Cinder's 413, on the POST, with
    the upstream's figures and no upstream address; nothing is made in lab or upstream (decision 0046)."""
    admin = rig.upstream_conn()
    upstream = rig.service_conn()
    project = rig.account["project_id"]
    try:
        image_id = next(i["ID"] for i in lab(cli, "image", "list", "--property", "overcast_backend_region=lab"))
        servers_before = {s.id for s in upstream.compute.servers()}
        volumes_before = {v.id for v in upstream.block_storage.volumes()}
        admin.set_compute_quotas(project, instances=0)
        admin.set_volume_quotas(project, volumes=0)

        proc = cli.run("--os-region-name", "lab", "server", "create", "--flavor", "m1.tiny", "--image", image_id,
                       "--nic", "none", "pt-quota", check=False)
        assert proc.returncode != 0
        assert re.search(r"403\b.*Quota exceeded for instances: Requested 1, but already used \d+ of 0 instances",
                         proc.stderr), proc.stderr[-2000:]
        assert f"127.0.0.1:{rig.upstream.port}" not in proc.stderr, "the upstream's address reached the client"
        proc = cli.run("--os-region-name", "lab", "volume", "create", "--size", "1", "pt-quota-vol", check=False)
        assert proc.returncode != 0
        assert re.search(r"413\b.*Maximum number of volumes allowed \(0\) exceeded", proc.stderr), proc.stderr[-2000:]

        # nothing half-made: no record in lab, nothing new upstream
        assert "pt-quota" not in {s["Name"] for s in lab(cli, "server", "list")}
        assert "pt-quota-vol" not in {v["Name"] for v in lab(cli, "volume", "list")}
        assert {s.id for s in upstream.compute.servers()} <= servers_before
        assert {v.id for v in upstream.block_storage.volumes()} <= volumes_before
    finally:
        admin.set_compute_quotas(project, instances=100)
        admin.set_volume_quotas(project, volumes=100)
        admin.close()
        upstream.close()
    # the quota back up upstream, lab takes the create again
    lab(cli, "volume", "create", "--size", "1", "pt-quota-vol")
    wait_status(cli, "volume", "pt-quota-vol", "available")
    # a snapshot is checked against the upstream's snapshots quota the same way: Cinder's 413 on the POST
    admin, upstream = rig.upstream_conn(), rig.service_conn()
    try:
        upstream_snapshots = {s.id for s in upstream.block_storage.snapshots()}
        admin.set_volume_quotas(project, snapshots=0)
        proc = cli.run("--os-region-name", "lab", "volume", "snapshot", "create", "--volume", "pt-quota-vol",
                       "pt-quota-snap", check=False)
        assert proc.returncode != 0
        assert re.search(r"413\b.*Maximum number of snapshots allowed \(0\) exceeded", proc.stderr), \
            proc.stderr[-2000:]
        assert "pt-quota-snap" not in {v["Name"] for v in lab(cli, "volume", "snapshot", "list")}
        assert {s.id for s in upstream.block_storage.snapshots()} <= upstream_snapshots
    finally:
        admin.set_volume_quotas(project, snapshots=100)
        admin.close()
        upstream.close()
    lab_run(cli, "volume", "delete", "pt-quota-vol")


def unrealised(rig: Passthrough) -> list[str]:
    """lab's networks, subnets, routers, floating IPs and security groups the upstream holds nothing for yet."""
    assert rig.front is not None
    with sqlite3.connect(rig.front.data_dir / "overcast.db") as db:
        return [f"{table} {row[0]}" for table in ("net_network", "net_subnet", "net_router", "net_floating_ip",
                                                  "net_security_group")
                for row in db.execute(f"SELECT id FROM {table} WHERE cloud = 'lab' AND backend_id IS NULL")]  # noqa: S608


#: Neutron's quota name -> the CLI's ``network quota`` figures attribute (openstacksdk QuotaDetails)
NEUTRON_QUOTAS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
                  "floatingip": "floating_ips", "security_group": "security_groups",
                  "security_group_rule": "security_group_rules"}


def test_an_upstream_network_quota_refusal_is_neutrons_409_on_the_post(rig: Passthrough, cli: RecordingCLI) -> None:
    """With the upstream project's Neutron quotas at what it already uses (set through the upstream's
    own admin API), every Neutron create in lab is refused on the POST with Neutron's 409 OverQuota
    naming the resource (a floating IP through Nova's os-floating-ips: Nova's 403), and nothing is
    recorded in lab or made upstream (decision 0046)."""
    lab(cli, "network", "create", "ptq-net")
    lab(cli, "subnet", "create", "--network", "ptq-net", "--subnet-range", "10.77.0.0/24", "ptq-subnet")
    lab(cli, "security", "group", "create", "ptq-sg")
    # everything lab holds is upstream (the upstream's usage counts it) before the quotas are lowered
    wait_for(lambda: not unrealised(rig), WAIT, interval=0.2, max_interval=1.0, description="lab realised upstream",
             on_timeout=lambda: f": {unrealised(rig)}")
    admin = rig.upstream_conn()
    upstream = rig.service_conn()
    project = rig.account["project_id"]
    kinds = ("networks", "subnets", "ports", "routers", "ips", "security_groups", "security_group_rules")
    try:
        held = {kind: {o.id for o in getattr(upstream.network, kind)()} for kind in kinds}
        details = admin.network.get_quota(project, details=True)
        used = {name: int(getattr(details, attr)["used"]) for name, attr in NEUTRON_QUOTAS.items()}
        admin.set_network_quotas(project, **used)
        creates = {
            "network": ("network", "create", "ptq-net-2"),
            "subnet": ("subnet", "create", "--network", "ptq-net", "--subnet-range", "10.77.1.0/24", "ptq-subnet-2"),
            "port": ("port", "create", "--network", "ptq-net", "ptq-port"),
            "router": ("router", "create", "ptq-router"),
            "floatingip": ("floating", "ip", "create", "public"),
            "security_group": ("security", "group", "create", "ptq-sg-2"),
            "security_group_rule": ("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
                                    "ptq-sg"),
        }
        for resource, args in creates.items():
            proc = cli.run("--os-region-name", "lab", *args, check=False)
            assert proc.returncode != 0, f"{resource}: {proc.stdout}"
            assert re.search(rf"409\b.*Quota exceeded for resources: \['{resource}'\]", proc.stderr), \
                (resource, proc.stderr[-2000:])
            assert f"127.0.0.1:{rig.upstream.port}" not in proc.stderr, "the upstream's address reached the client"
        # a floating IP through Nova's os-floating-ips (not Neutron's create endpoint): Nova's 403
        assert rig.front is not None
        front = sdk_connect(rig.front.clouds_yaml, "overcast", region_name="lab")
        try:
            resp = front.compute.post("/os-floating-ips", json={"pool": "public"}, microversion="2.35",
                                      raise_exc=False)
        finally:
            front.close()
        assert resp.status_code == 403 and "IP allocation over quota in pool public." in resp.text, resp.text

        # nothing half-made: no record in lab, nothing new upstream
        assert not {"ptq-net-2"} & {n["Name"] for n in lab(cli, "network", "list")}
        assert not {"ptq-subnet-2"} & {n["Name"] for n in lab(cli, "subnet", "list")}
        assert not lab(cli, "port", "list", "--name", "ptq-port")
        assert not lab(cli, "router", "list", "--name", "ptq-router")
        assert not {"ptq-sg-2"} & {g["Name"] for g in lab(cli, "security", "group", "list")}
        assert len(lab(cli, "security", "group", "rule", "list", "ptq-sg")) == 2  # Neutron's two egress rules
        for kind in kinds:
            assert {o.id for o in getattr(upstream.network, kind)()} <= held[kind], kind
    finally:
        admin.set_network_quotas(project, network=1000, subnet=1000, port=5000, router=100, floatingip=500,
                                 security_group=1000, security_group_rule=10000)
        admin.close()
        upstream.close()
    # the quotas back up upstream, lab takes the creates again
    lab(cli, "router", "create", "ptq-router")
    lab_run(cli, "router", "delete", "ptq-router")
    lab_run(cli, "security", "group", "delete", "ptq-sg")
    lab_run(cli, "subnet", "delete", "ptq-subnet")
    lab_run(cli, "network", "delete", "ptq-net")


def upstream_faults(rig: Passthrough, method: str, path: str = "", **kwargs: Any) -> Any:
    """The upstream's own testing API (/_overcast/faults), as its admin."""
    import requests

    admin = rig.upstream_conn()
    try:
        resp = requests.request(method, f"{rig.upstream.base_url}/_overcast/faults{path}",
                                headers={"X-Auth-Token": admin.auth_token}, timeout=30, **kwargs)
    finally:
        admin.close()
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def test_a_server_deleted_upstream_turns_up_in_error_one_missing_from_a_truncated_page_does_not(
        rig: Passthrough, cli: RecordingCLI) -> None:
    """The reconciler finds a server deleted upstream gone (confirmed by a get, not only missing
    from a listing) while the upstream's server lists are cut short (its fault book's ``truncate``):
    the servers beside it, missing from those lists, stay ACTIVE.

    The cut keeps no item: paging with a limit, openstacksdk asks again from the last item after a
    short page, so a page cut to one item loses nothing; an empty page ends the listing there."""
    image_id = next(i["ID"] for i in lab(cli, "image", "list", "--property", "overcast_backend_region=lab"))
    names = [f"pt-recon-{n}" for n in range(3)]
    for name in names:
        lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none", "--wait", name)
    victim = lab(cli, "server", "show", names[0])
    rule = upstream_faults(rig, "POST", json={"fault": {"kind": "truncate", "endpoint": "compute:v2_servers_detail",
                                                        "keep": 0}})["fault"]
    upstream = rig.service_conn()
    try:
        upstream.compute.delete_server(backend_id(rig, "server", victim["id"]))
        shown = wait_status(cli, "server", names[0], "error", "deleted")
        assert "no longer exists" in json.dumps(shown.get("fault") or {})
        # the reconciler's lists were cut short
        [applied] = [r for r in upstream_faults(rig, "GET")["faults"] if r["id"] == rule["id"]]
        assert applied["injected"] >= 1
        for name in names[1:]:
            assert lab(cli, "server", "show", name)["status"] == "ACTIVE"
    finally:
        upstream_faults(rig, "DELETE", f"/{rule['id']}")
        upstream.close()
    for name in names:
        lab_run(cli, "server", "delete", "--wait", name)


def test_upstream_down_reads_answer_writes_refused_then_recover(rig: Passthrough, cli: RecordingCLI) -> None:
    """Stop the upstream: lab's reads answer from Overcast's records, its creates are refused with
    503 once the breaker has opened, the root region keeps working; start the upstream again
    and lab takes new writes, with no restart of the front."""
    image_id = next(i["ID"] for i in lab(cli, "image", "list", "--property", "overcast_backend_region=lab"))
    lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none", "--wait", "pt-kept")
    rig.upstream.stop()
    try:
        assert lab(cli, "server", "show", "pt-kept")["status"] == "ACTIVE"
        assert "pt-kept" in {s["Name"] for s in lab(cli, "server", "list")}
        lab(cli, "flavor", "list")
        lab(cli, "network", "list")
        tried: list[str] = []

        def refused() -> bool:
            name = f"pt-down-{len(tried)}"
            tried.append(name)
            proc = cli.run("--os-region-name", "lab", "server", "create", "--flavor", "m1.tiny", "--image", image_id,
                           "--nic", "none", name, check=False)
            if proc.returncode == 0:
                return False
            assert "503" in proc.stderr and "unavailable" in proc.stderr.lower(), proc.stderr[-2000:]
            return True

        wait_for(refused, 60, interval=0.5, max_interval=2.0, description="lab creates refused with 503")
        # the root region does not care
        cli("volume", "create", "--size", "1", "pt-root-while-lab-down")
        wait_for(lambda: cli("volume", "show", "pt-root-while-lab-down")["status"] == "available", WAIT,
                 description="a root-region volume available while lab is down")
        cli.run("volume", "delete", "pt-root-while-lab-down")
    finally:
        rig.upstream.restart()

    def accepted() -> bool:
        proc = cli.run("--os-region-name", "lab", "server", "create", "--flavor", "m1.tiny", "--image", image_id,
                       "--nic", "none", "--wait", "pt-after", check=False)
        return proc.returncode == 0

    wait_for(accepted, 90, interval=1.0, max_interval=3.0, description="lab takes writes again")
    assert wait_status(cli, "server", "pt-after", "active")
    lab_run(cli, "server", "delete", "--wait", "pt-after")
    lab_run(cli, "server", "delete", "--wait", "pt-kept")
