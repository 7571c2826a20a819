"""openstacksdk (unmodified) against a live ``overcast serve``: the compute flows the CLI tests cover.

The SDK negotiates the highest microversion both sides support, so these tests exercise the
newest views (2.47 embedded flavor, 2.26 tags, 2.37 networks ...), while the CLI tests run at 2.1
unless they ask. Waits are the SDK's own bounded ``wait_for_*`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openstack import exceptions

pytestmark = pytest.mark.live

WAIT = 60


@pytest.fixture(scope="module")
def cirros(demo_conn: Any) -> Any:
    image = demo_conn.image.find_image("cirros", ignore_missing=False)
    assert image.name == "cirros"
    return image


def _boot(conn: Any, name: str, image: Any, flavor: str = "1", **extra: Any) -> Any:
    private = conn.network.find_network("private", ignore_missing=False)
    made = conn.compute.create_server(name=name, flavor_id=flavor, image_id=image.id,
                                      networks=[{"uuid": private.id}], **extra)
    return conn.compute.wait_for_server(made, status="ACTIVE", wait=WAIT, interval=0.5)


def _wait(conn: Any, server: Any, status: str) -> Any:
    return conn.compute.wait_for_server(conn.compute.get_server(server), status=status, wait=WAIT, interval=0.3)


@pytest.fixture
def server(demo_conn: Any, cirros: Any, unique: Callable[[str], str]) -> Iterator[Any]:
    made = _boot(demo_conn, unique("sdk"), cirros)
    try:
        yield made
    finally:
        demo_conn.compute.delete_server(made, ignore_missing=True)


def test_create_get_list(demo_conn: Any, server: Any, cirros: Any) -> None:
    assert server.status == "ACTIVE"
    got = demo_conn.compute.get_server(server.id)
    assert got.name == server.name
    assert got.image.id == cirros.id
    # from 2.47 the flavor is embedded: original_name instead of an id
    assert got.flavor.name in ("m1.tiny", None) or got.flavor.id == "1"
    assert got.addresses
    assert got.vm_state == "active"
    assert got.power_state == 1
    assert server.id in [s.id for s in demo_conn.compute.servers(name=server.name)]
    assert server.id in [s.id for s in demo_conn.compute.servers(details=False)]


def test_cloud_layer_create_server_by_names(demo_conn: Any, unique: Callable[[str], str]) -> None:
    """What Ansible's openstack.cloud.server does: names resolved by the SDK's cloud layer."""
    made = demo_conn.create_server(unique("cloud"), image="cirros", flavor="m1.tiny", network="private", wait=True,
                                   timeout=WAIT, auto_ip=False)
    try:
        assert made.status == "ACTIVE"
    finally:
        assert demo_conn.delete_server(made.id, wait=True, timeout=WAIT)
    assert demo_conn.compute.find_server(made.id, ignore_missing=True) is None


def test_metadata_and_tags(demo_conn: Any, server: Any) -> None:
    demo_conn.compute.set_server_metadata(server, color="blue", size="xl")
    assert demo_conn.compute.get_server_metadata(server).metadata == {"color": "blue", "size": "xl"}
    demo_conn.compute.delete_server_metadata(server, ["color"])
    assert demo_conn.compute.get_server_metadata(server).metadata == {"size": "xl"}
    demo_conn.compute.add_tag_to_server(server, "red")
    assert demo_conn.compute.get_server(server).tags == ["red"]
    assert server.id in [s.id for s in demo_conn.compute.servers(tags="red")]
    demo_conn.compute.remove_tag_from_server(server, "red")
    assert demo_conn.compute.get_server(server).tags == []


def test_power_actions(demo_conn: Any, server: Any) -> None:
    c = demo_conn.compute
    c.reboot_server(server, "SOFT")
    _wait(demo_conn, server, "ACTIVE")
    c.reboot_server(server, "HARD")
    _wait(demo_conn, server, "ACTIVE")
    c.stop_server(server)
    assert _wait(demo_conn, server, "SHUTOFF").power_state == 4
    with pytest.raises(exceptions.ConflictException):
        c.stop_server(server)
    c.start_server(server)
    _wait(demo_conn, server, "ACTIVE")
    c.pause_server(server)
    _wait(demo_conn, server, "PAUSED")
    c.unpause_server(server)
    _wait(demo_conn, server, "ACTIVE")
    c.suspend_server(server)
    _wait(demo_conn, server, "SUSPENDED")
    c.resume_server(server)
    _wait(demo_conn, server, "ACTIVE")


def test_resize_confirm_and_rebuild(demo_conn: Any, server: Any, cirros: Any) -> None:
    c = demo_conn.compute
    c.resize_server(server, "2")
    resized = _wait(demo_conn, server, "VERIFY_RESIZE")
    assert resized.flavor.name == "m1.small" or resized.flavor.id == "2"
    c.confirm_server_resize(server)
    assert _wait(demo_conn, server, "ACTIVE").flavor.vcpus == 1
    new_name = server.name + "-rebuilt"  # rebuild_server updates `server` from Nova's response
    assert c.rebuild_server(server, image=cirros.id, name=new_name).name == new_name
    assert _wait(demo_conn, server, "ACTIVE").name == new_name


def test_snapshot_events_console(demo_conn: Any, server: Any, unique: Callable[[str], str]) -> None:
    c = demo_conn.compute
    name = unique("snap")
    image = c.create_server_image(server, name, wait=True, timeout=WAIT)
    assert image.name == name
    assert demo_conn.image.get_image(image.id).status == "active"
    _wait(demo_conn, server, "ACTIVE")
    actions = list(c.server_actions(server))
    assert "create" in [a.action for a in actions]
    assert "createImage" in [a.action for a in actions]
    create = next(a for a in actions if a.action == "create")
    detail = c.get_server_action(create.request_id, server)
    assert detail.action == "create"
    assert detail.events
    output = c.get_server_console_output(server)["output"]
    assert output.strip()


def test_delete_and_404(demo_conn: Any, cirros: Any, unique: Callable[[str], str]) -> None:
    made = _boot(demo_conn, unique("gone"), cirros)
    demo_conn.compute.delete_server(made)
    demo_conn.compute.wait_for_delete(made, wait=WAIT, interval=0.3)
    with pytest.raises(exceptions.NotFoundException) as info:
        demo_conn.compute.get_server(made.id)
    assert info.value.status_code == 404


def test_another_projects_server_is_404(connect: Callable[..., Any], server: Any, admin_conn: Any) -> None:
    alt = connect("overcast-alt")
    with pytest.raises(exceptions.NotFoundException) as info:
        alt.compute.get_server(server.id)
    assert info.value.status_code == 404
    with pytest.raises(exceptions.NotFoundException):
        alt.compute.delete_server(server.id, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        alt.compute.reboot_server(server.id, "SOFT")
    assert server.id not in [s.id for s in alt.compute.servers()]
    assert server.id in [s.id for s in admin_conn.compute.servers(all_projects=True)]


def test_flavors(demo_conn: Any, admin_conn: Any, unique: Callable[[str], str]) -> None:
    names = {f.id: f.name for f in demo_conn.compute.flavors()}
    assert {k: names.get(k) for k in "12345"} == {"1": "m1.tiny", "2": "m1.small", "3": "m1.medium",
                                                  "4": "m1.large", "5": "m1.xlarge"}
    tiny = demo_conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    assert (tiny.vcpus, tiny.ram, tiny.disk) == (1, 512, 1)
    name = unique("flv")
    made = admin_conn.compute.create_flavor(name=name, vcpus=1, ram=128, disk=1)
    try:
        assert admin_conn.compute.get_flavor(made.id).name == name
        with pytest.raises(exceptions.ForbiddenException):
            demo_conn.compute.delete_flavor(made.id, ignore_missing=False)
    finally:
        admin_conn.compute.delete_flavor(made.id)
    assert admin_conn.compute.find_flavor(name, ignore_missing=True) is None


def test_keypairs(demo_conn: Any, unique: Callable[[str], str]) -> None:
    name = unique("kp")
    made = demo_conn.compute.create_keypair(name=name)
    assert made.private_key and "PRIVATE KEY" in made.private_key
    got = demo_conn.compute.get_keypair(name)
    assert got.fingerprint == made.fingerprint
    assert not got.private_key
    assert name in [k.name for k in demo_conn.compute.keypairs()]
    demo_conn.compute.delete_keypair(name)
    assert demo_conn.compute.find_keypair(name, ignore_missing=True) is None


def test_quotas_limits_usage_zones(demo_conn: Any, admin_conn: Any, ids: dict[str, str], server: Any) -> None:
    quota = demo_conn.compute.get_quota_set(ids["project:demo"])
    assert quota.instances >= 1 and quota.cores >= 1 and quota.ram >= 512
    limits = demo_conn.compute.get_limits()
    assert limits.absolute.instances >= 1
    assert limits.absolute.instances_used >= 1
    zones = list(demo_conn.compute.availability_zones())
    assert any(z.name == "nova" and z.state["available"] for z in zones)
    usages = list(admin_conn.compute.usages())
    assert ids["project:demo"] in [u.project_id for u in usages]


def test_server_groups(demo_conn: Any, cirros: Any, unique: Callable[[str], str]) -> None:
    c = demo_conn.compute
    group = c.create_server_group(name=unique("grp"), policy="affinity")
    try:
        assert group.policy == "affinity"
        assert group.id in [g.id for g in c.server_groups()]
        made = _boot(demo_conn, unique("member"), cirros, scheduler_hints={"group": group.id})
        try:
            assert made.id in c.get_server_group(group.id).member_ids
        finally:
            c.delete_server(made)
            c.wait_for_delete(made, wait=WAIT, interval=0.3)
    finally:
        c.delete_server_group(group)
    assert c.find_server_group(group.id, ignore_missing=True) is None


def test_disk_config(demo_conn: Any, cirros: Any, unique: Callable[[str], str]) -> None:
    """OS-DCF:diskConfig through the SDK's ``disk_config``: kept from create, changed by an update."""
    c = demo_conn.compute
    made = _boot(demo_conn, unique("dcf"), cirros, disk_config="AUTO")
    try:
        assert c.get_server(made.id).disk_config == "AUTO"
        assert c.update_server(made, disk_config="MANUAL").disk_config == "MANUAL"
        assert c.get_server(made.id).disk_config == "MANUAL"
        with pytest.raises(exceptions.BadRequestException, match="OS-DCF:diskConfig"):
            c.update_server(made, disk_config="SOMETIMES")
    finally:
        c.delete_server(made, ignore_missing=True)
