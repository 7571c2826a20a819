"""The passthrough region's prechecks and the families it passes on (decision 0069): a second
``overcast serve`` (local driver) is the upstream OpenStack; the unmodified ``openstack`` CLI drives
the front with ``--os-region-name lab``, and the upstream is asked directly what it holds.

- a server create whose ports the upstream's port quota cannot hold is Nova's 403 on the POST, and
  a project's first ``default`` security group the upstream cannot hold is Neutron's 409 on the
  port create (Nova's 403 on a server create), with nothing recorded in lab or made upstream; an
  auto-allocated topology (``--nic auto``) the upstream cannot hold is Nova's 400 on the POST;
- ``server add port`` / ``server remove port`` plug and unplug the port upstream;
- a server group's policy (and 2.64 rules) is the upstream's: the upstream's group is made and the server
  booted into it; a group the upstream's quota cannot hold is Nova's 403 on the POST; the upstream's copy
  of a deleted group goes by an operation, so an upstream down at the time loses it once back;
- ``console url show`` answers what the upstream answers (its consoles), and ``overcast coverage
  --region lab`` declares it.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from typing import Any, Iterator

import pytest

from overcast.testing.live import wait_for
from overcast.testing.passthrough import Passthrough
from test_passthrough import WAIT, RecordingCLI, backend_id, lab, lab_run, unrealised

pytestmark = pytest.mark.live

#: Neutron's quota name -> openstacksdk's QuotaDetails attribute
NEUTRON_QUOTAS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
                  "floatingip": "floating_ips", "security_group": "security_groups",
                  "security_group_rule": "security_group_rules"}
RESTORE = {"network": 1000, "subnet": 1000, "port": 5000, "router": 100, "floatingip": 500, "security_group": 1000,
           "security_group_rule": 10000}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passthrough]:
    with Passthrough(tmp_path_factory.mktemp("passthrough-families"),
                     front_env={"OVERCAST_OPS_HEADROOM_SECONDS": "0"}) as rig:
        yield rig


@pytest.fixture(scope="module")
def cli(rig: Passthrough) -> RecordingCLI:
    assert rig.front is not None
    return RecordingCLI(rig.front.clouds_yaml, "overcast")


@pytest.fixture(scope="module")
def image_id(cli: RecordingCLI) -> str:
    return str(next(i["ID"] for i in lab(cli, "image", "list", "--property", "overcast_backend_region=lab")))


@pytest.fixture(scope="module")
def net(rig: Passthrough, cli: RecordingCLI) -> str:
    lab(cli, "network", "create", "ptf-net")
    lab(cli, "subnet", "create", "--network", "ptf-net", "--subnet-range", "10.78.0.0/24", "ptf-subnet")
    wait_for(lambda: not unrealised(rig), WAIT, interval=0.2, max_interval=1.0, description="lab realised upstream")
    return "ptf-net"


def used_network_quotas(rig: Passthrough) -> dict[str, int]:
    admin = rig.upstream_conn()
    try:
        details = admin.network.get_quota(rig.account["project_id"], details=True)
        return {name: int(getattr(details, attr)["used"]) for name, attr in NEUTRON_QUOTAS.items()}
    finally:
        admin.close()


def set_network_quotas(rig: Passthrough, **figures: int) -> None:
    admin = rig.upstream_conn()
    try:
        admin.set_network_quotas(rig.account["project_id"], **figures)
    finally:
        admin.close()


def upstream_held(rig: Passthrough) -> dict[str, set[str]]:
    conn = rig.service_conn()
    try:
        return {"servers": {s.id for s in conn.compute.servers()}, "ports": {p.id for p in conn.network.ports()},
                "security_groups": {g.id for g in conn.network.security_groups()}}
    finally:
        conn.close()


def lab_rows(rig: Passthrough, sql: str, *args: Any) -> list[Any]:
    assert rig.front is not None
    with sqlite3.connect(rig.front.data_dir / "overcast.db") as db:
        return list(db.execute(sql, args))


def test_a_server_whose_ports_the_upstream_cannot_hold_is_novas_403(rig: Passthrough, cli: RecordingCLI,
                                                                     image_id: str, net: str) -> None:
    """The upstream's port quota at what it uses: ``server create --network`` in lab is Nova's 403
    "Maximum number of ports exceeded" on the POST (old code: 202, then the build's port refused
    upstream and the server in ERROR); nothing recorded in lab, nothing made upstream. A server
    that makes no port (``--nic none``) is still taken."""
    before = upstream_held(rig)
    set_network_quotas(rig, port=used_network_quotas(rig)["port"])
    try:
        proc = cli.run("--os-region-name", "lab", "server", "create", "--flavor", "m1.tiny", "--image", image_id,
                       "--network", net, "ptf-portless", check=False)
        assert proc.returncode != 0, proc.stdout
        assert re.search(r"403\b.*Maximum number of ports exceeded", proc.stderr), proc.stderr[-2000:]
        assert f"127.0.0.1:{rig.upstream.port}" not in proc.stderr
        assert "ptf-portless" not in {s["Name"] for s in lab(cli, "server", "list")}
        assert not lab_rows(rig, "SELECT id FROM server WHERE name = 'ptf-portless'")
        after = upstream_held(rig)
        assert after["servers"] <= before["servers"] and after["ports"] <= before["ports"]
        # no port made: the upstream's port quota is no concern
        server = lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none", "--wait",
                     "ptf-noport")
        assert server["status"] == "ACTIVE"
    finally:
        set_network_quotas(rig, **RESTORE)
    lab_run(cli, "server", "delete", "--wait", "ptf-noport")


def test_a_projects_first_default_group_the_upstream_cannot_hold_is_refused_at_once(
        rig: Passthrough, cli: RecordingCLI, image_id: str) -> None:
    """A project's first port in lab makes its ``default`` security group (Neutron's first use),
    which lab makes upstream as a group of the service project. With the upstream's security group
    quota at what it uses, ``port create`` is Neutron's 409 naming ``security_group`` and ``server
    create`` Nova's 403, on the request (old code: the port and the group recorded, the group never
    realised upstream, the port never bound); no group or port recorded in lab, nothing made upstream."""
    # alt_demo: a project that has done nothing in lab yet
    as_user = ("--os-region-name", "lab")
    alt = "overcast-alt"
    cli(*as_user, "network", "create", "ptf-own-net", cloud=alt)
    cli(*as_user, "subnet", "create", "--network", "ptf-own-net", "--subnet-range", "10.79.0.0/24", "ptf-own-subnet",
        cloud=alt)
    wait_for(lambda: not unrealised(rig), WAIT, interval=0.2, max_interval=1.0, description="lab realised upstream")
    project_id = lab_rows(rig, "SELECT project_id FROM net_network WHERE name = 'ptf-own-net'")[0][0]
    before = upstream_held(rig)
    set_network_quotas(rig, security_group=used_network_quotas(rig)["security_group"])
    try:
        proc = cli.run(*as_user, "port", "create", "--network", "ptf-own-net", "ptf-own-port", check=False, cloud=alt)
        assert proc.returncode != 0, proc.stdout
        assert re.search(r"409\b.*Quota exceeded for resources: \['security_group'\]", proc.stderr), \
            proc.stderr[-2000:]
        proc = cli.run(*as_user, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--network",
                       "ptf-own-net", "ptf-own-server", check=False, cloud=alt)
        assert proc.returncode != 0, proc.stdout
        assert re.search(r"403\b.*Quota exceeded, too many security groups", proc.stderr), proc.stderr[-2000:]
        assert not lab_rows(rig, "SELECT id FROM net_security_group WHERE project_id = ? AND cloud = 'lab'",
                            project_id)
        assert not lab_rows(rig, "SELECT id FROM net_port WHERE project_id = ?", project_id)
        assert not lab_rows(rig, "SELECT id FROM server WHERE project_id = ?", project_id)
        after = upstream_held(rig)
        for kind in before:
            assert after[kind] <= before[kind], kind
    finally:
        set_network_quotas(rig, **RESTORE)
    # room again upstream: the first port makes the group, and both are realised upstream
    port = cli(*as_user, "port", "create", "--network", "ptf-own-net", "ptf-own-port", cloud=alt)
    wait_for(lambda: backend_id(rig, "net_port", port["id"]), WAIT, description="port realised")
    group = lab_rows(rig, "SELECT backend_id FROM net_security_group WHERE project_id = ? AND cloud = 'lab'",
                     project_id)
    assert group and group[0][0]
    cli.run(*as_user, "port", "delete", "ptf-own-port", cloud=alt)


def test_an_auto_topology_the_upstream_cannot_hold_is_refused_at_once(rig: Passthrough, cli: RecordingCLI,
                                                                       image_id: str) -> None:
    """``server create --nic auto`` (2.37) for a project with no network in lab makes its
    auto-allocated topology (network, subnet, router) in the request; with the upstream's router
    quota at what it uses, it is Nova's 400 "Unable to automatically allocate a network" on the POST
    (old code: 202, the topology recorded in lab and never made upstream, the server in ERROR);
    nothing recorded in lab, nothing made upstream (decision 0076)."""
    admin = "overcast-admin"
    cli("project", "create", "--domain", "default", "ptf-auto", cloud=admin)
    cli("user", "create", "--domain", "default", "--project", "ptf-auto", "--password", "ptf-auto-pass",
        "ptf-auto-user", cloud=admin)
    cli.run("role", "add", "--project", "ptf-auto", "--user", "ptf-auto-user", "member", cloud=admin)
    as_user = ("--os-region-name", "lab", "--os-compute-api-version", "2.37", "--os-project-name", "ptf-auto",
               "--os-username", "ptf-auto-user", "--os-password", "ptf-auto-pass")
    project_id = cli("project", "show", "ptf-auto", cloud=admin)["id"]
    before = upstream_held(rig)
    set_network_quotas(rig, router=used_network_quotas(rig)["router"])
    try:
        proc = cli.run(*as_user, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "auto",
                       "ptf-auto-server", check=False)
        assert proc.returncode != 0, proc.stdout
        assert re.search(r"400\b.*Unable to automatically allocate a network for project", proc.stderr), \
            proc.stderr[-2000:]
        for table in ("net_network", "net_subnet", "net_router", "net_port", "server"):
            assert not lab_rows(rig, f"SELECT id FROM {table} WHERE project_id = ?", project_id), table  # noqa: S608
        after = upstream_held(rig)
        for kind in before:
            assert after[kind] <= before[kind], kind
    finally:
        set_network_quotas(rig, **RESTORE)


def upstream_interfaces(rig: Passthrough, server_backend: str) -> set[str]:
    conn = rig.service_conn()
    try:
        return {i.port_id for i in conn.compute.server_interfaces(server_backend)}
    finally:
        conn.close()


def test_server_add_and_remove_port_plug_it_upstream(rig: Passthrough, cli: RecordingCLI, image_id: str,
                                                     net: str) -> None:
    """``server add port`` plugs the port's upstream twin into the upstream server (old code: the
    region declared no port attach, 409); ``server remove port`` unplugs it there."""
    server = lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none", "--wait",
                 "ptf-plug")
    server_backend = backend_id(rig, "server", server["id"])
    assert server_backend
    port = lab(cli, "port", "create", "--network", net, "ptf-plug-port")
    lab_run(cli, "server", "add", "port", "ptf-plug", "ptf-plug-port")
    port_backend = wait_for(lambda: backend_id(rig, "net_port", port["id"]), WAIT, description="port realised")
    wait_for(lambda: port_backend in upstream_interfaces(rig, server_backend), WAIT, interval=0.2,
             description="port plugged upstream")
    shown = lab(cli, "port", "show", "ptf-plug-port")
    assert shown["device_id"] == server["id"]
    wait_for(lambda: "ptf-net" in str(lab(cli, "server", "show", "ptf-plug")["addresses"]), WAIT, interval=0.2,
             description="address shown")
    lab_run(cli, "server", "remove", "port", "ptf-plug", "ptf-plug-port")
    wait_for(lambda: port_backend not in upstream_interfaces(rig, server_backend), WAIT, interval=0.2,
             description="port unplugged upstream")
    wait_for(lambda: lab(cli, "server", "show", "ptf-plug")["status"] == "ACTIVE", WAIT, description="settled")
    lab_run(cli, "server", "delete", "--wait", "ptf-plug")
    lab_run(cli, "port", "delete", "ptf-plug-port")


def test_a_server_group_is_the_upstreams(rig: Passthrough, cli: RecordingCLI, image_id: str) -> None:
    """A server booted into a lab group (``--hint group=``) is booted upstream into the upstream's
    group of the same policy and 2.64 rules, made for it (old code: booted upstream into no group,
    the policy lost; before decision 0076 the group upstream had no rules); deleting the lab group
    deletes the upstream's."""
    group = lab(cli, "--os-compute-api-version", "2.64", "server", "group", "create", "--policy", "anti-affinity",
                "--rule", "max_server_per_host=2", "ptf-group")
    server = lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none",
                 "--hint", f"group={group['id']}", "--wait", "ptf-grouped")
    server_backend = backend_id(rig, "server", server["id"])
    conn = rig.service_conn()
    try:
        upstream = [g for g in conn.compute.server_groups() if g.name == f"overcast-group-{group['id']}"]
        assert len(upstream) == 1, [g.name for g in conn.compute.server_groups()]
        assert (upstream[0].policy or (upstream[0].policies or [None])[0]) == "anti-affinity"
        assert upstream[0].rules == {"max_server_per_host": 2}
        assert server_backend in (upstream[0].member_ids or [])
    finally:
        conn.close()
    assert lab(cli, "server", "group", "show", "ptf-group")["members"] == server["id"] or \
        server["id"] in str(lab(cli, "server", "group", "show", "ptf-group")["members"])
    lab_run(cli, "server", "delete", "--wait", "ptf-grouped")
    lab_run(cli, "server", "group", "delete", "ptf-group")
    conn = rig.service_conn()
    try:
        assert not [g for g in conn.compute.server_groups() if g.name == f"overcast-group-{group['id']}"]
    finally:
        conn.close()


def upstream_groups(rig: Passthrough) -> dict[str, str]:
    conn = rig.service_conn()
    try:
        return {g.name: g.id for g in conn.compute.server_groups()}
    finally:
        conn.close()


def test_a_server_group_the_upstream_cannot_hold_is_novas_403(rig: Passthrough, cli: RecordingCLI) -> None:
    """Every lab group is a group of the service project upstream: with the upstream's
    ``server_groups`` quota at what it uses, ``server group create`` in lab is Nova's 403 "Quota
    exceeded, too many server groups." on the POST, nothing recorded (old code: 200, and the first
    build into the group refused upstream, the server in ERROR). Taken again once there is room."""
    admin = rig.upstream_conn()
    service = rig.service_conn()
    project = rig.account["project_id"]
    try:
        used = int(service.compute.get_limits().absolute.server_groups_used or 0)
        admin.set_compute_quotas(project, server_groups=used)
        proc = cli.run("--os-region-name", "lab", "server", "group", "create", "--policy", "affinity",
                       "ptf-no-room", check=False)
        assert proc.returncode != 0, proc.stdout
        assert re.search(r"403\b.*Quota exceeded, too many server groups", proc.stderr), proc.stderr[-2000:]
        assert not lab_rows(rig, "SELECT id FROM server_group WHERE name = 'ptf-no-room'")
        admin.set_compute_quotas(project, server_groups=used + 1)
        made = lab(cli, "server", "group", "create", "--policy", "affinity", "ptf-room")
        assert made["name"] == "ptf-room"
    finally:
        admin.set_compute_quotas(project, server_groups=1000)
        admin.close()
        service.close()
    lab_run(cli, "server", "group", "delete", "ptf-room")


def test_a_group_deleted_while_the_upstream_is_down_goes_upstream_when_it_is_back(
        rig: Passthrough, cli: RecordingCLI, image_id: str) -> None:
    """The upstream copy of a deleted lab group is deleted by an operation (the engine's retries
    and breaker, decision 0076): with the upstream stopped, ``server group delete`` in lab answers
    204 and the upstream group goes once the upstream is back (old code: one best-effort call in
    the request, and the upstream kept the group for good)."""
    group = lab(cli, "server", "group", "create", "--policy", "soft-affinity", "ptf-down-group")
    lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none",
        "--hint", f"group={group['id']}", "--wait", "ptf-down-member")
    name = f"overcast-group-{group['id']}"
    assert name in upstream_groups(rig)
    lab_run(cli, "server", "delete", "--wait", "ptf-down-member")
    rig.upstream.stop()
    try:
        lab_run(cli, "server", "group", "delete", "ptf-down-group")
        assert lab_rows(rig, "SELECT state FROM operation WHERE kind = 'server_group.delete_backend' "
                             "AND resource_id = ?", group["id"])
        assert not lab_rows(rig, "SELECT id FROM server_group WHERE id = ?", group["id"])
    finally:
        rig.upstream.restart()
    wait_for(lambda: name not in upstream_groups(rig), WAIT, interval=0.5, max_interval=2.0,
             description="the upstream group deleted once the upstream is back")
    wait_for(lambda: lab_rows(rig, "SELECT state FROM operation WHERE kind = 'server_group.delete_backend' "
                                   "AND resource_id = ?", group["id"])[0][0] == "succeeded", WAIT,
             description="the operation done")


def test_console_url_is_the_upstreams_answer_and_declared(rig: Passthrough, cli: RecordingCLI,
                                                         image_id: str) -> None:
    """``console url show`` is asked of the upstream: this upstream (Overcast's local driver) has no
    console, so the client gets Nova's 400 "Unavailable console type novnc." that the upstream gave;
    ``overcast coverage --region lab`` declares remote consoles, port attach and server groups."""
    assert rig.front is not None
    lab(cli, "server", "create", "--flavor", "m1.tiny", "--image", image_id, "--nic", "none", "--wait", "ptf-console")
    proc = cli.run("--os-region-name", "lab", "console", "url", "show", "--novnc", "ptf-console", check=False)
    assert proc.returncode != 0
    assert re.search(r"400\b.*Unavailable console type novnc", proc.stderr), proc.stderr[-2000:]
    assert f"127.0.0.1:{rig.upstream.port}" not in proc.stderr
    lab_run(cli, "server", "delete", "--wait", "ptf-console")
    import os

    out = subprocess.run([sys.executable, "-m", "overcast", "--config", str(rig.root / "front.toml"), "coverage",
                          "--region", "lab"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LAB_PASSWORD": rig.password})
    assert out.returncode == 0, out.stderr[-2000:]
    compute = next(line for line in out.stdout.splitlines() if re.match(r"\s+lab\s+\S+\s+compute\s", line))
    for capability in ("remote_console", "port_attach", "server_groups"):
        assert capability not in compute, compute


def test_a_router_interface_at_the_upstreams_port_quota(rig: Passthrough, cli: RecordingCLI, net: str) -> None:
    """A router interface's port is made by the upstream's Neutron itself (``add_router_interface``
    by subnet), which, like Neutron, does not count it against the port quota: with the upstream's
    port quota at what it uses, ``router add subnet`` in lab is taken and the interface is made
    upstream. Overcast therefore does not refuse it either (decision 0069)."""
    router = lab(cli, "router", "create", "ptf-router")
    wait_for(lambda: backend_id(rig, "net_router", router["id"]), WAIT, description="router realised")
    set_network_quotas(rig, port=used_network_quotas(rig)["port"])
    try:
        lab_run(cli, "router", "add", "subnet", "ptf-router", "ptf-subnet")
        router_backend = backend_id(rig, "net_router", router["id"])
        conn = rig.service_conn()
        try:
            def plugged() -> bool:
                return bool(list(conn.network.ports(device_id=router_backend,
                                                    device_owner="network:router_interface")))

            wait_for(plugged, WAIT, interval=0.2, description="interface made upstream")
        finally:
            conn.close()
        assert not unrealised(rig)
    finally:
        set_network_quotas(rig, **RESTORE)
    lab_run(cli, "router", "remove", "subnet", "ptf-router", "ptf-subnet")
    lab_run(cli, "router", "delete", "ptf-router")
