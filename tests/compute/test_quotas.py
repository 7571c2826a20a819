"""Quota sets and the reserve() the servers use: defaults, overrides, usage, atomic refusal."""

from __future__ import annotations

import pytest
from schemas import check
from sqlalchemy import select

from overcast.core.compute import quotas
from overcast.core.errors import Forbidden
from overcast.store.compute import Server
from overcast.store.models import Project


def _server(session, project_id, vcpus=1, ram=512, **kw):  # noqa: ANN001, ANN202
    server = Server(cloud="RegionOne", project_id=project_id, user_id="u", name="s", flavor_id="1",
                    flavor={"vcpus": vcpus, "ram": ram, "disk": 1}, **kw)
    session.add(server)
    session.flush()
    return server


@pytest.mark.parametrize("version,module", [(None, "v2_1.quotas"), ("2.36", "v2_36.quotas"),
                                            ("2.57", "v2_57.quotas")])
def test_show_defaults_detail(demo, demo_project, version, module):
    shown = check(demo("GET", f"/os-quota-sets/{demo_project}", version), module, "get_quota_set")["quota_set"]
    assert shown["instances"] == 10 and shown["cores"] == 20 and shown["id"] == demo_project
    assert ("floating_ips" in shown) == (version is None)
    check(demo("GET", f"/os-quota-sets/{demo_project}/defaults", version), module, "get_quota_set")
    check(demo("GET", f"/os-quota-sets/{demo_project}/detail", version), module, "get_quota_set_details")


def test_other_project_forbidden_for_member(demo, admin):
    with demo.cloud.app.compute.store.session() as session:
        other = session.scalar(select(Project.id).where(Project.name == "alt_demo"))
    assert demo("GET", f"/os-quota-sets/{other}").status_code == 403
    assert admin("GET", f"/os-quota-sets/{other}").status_code == 200


def test_update_validate_and_reset(admin, demo, demo_project, seeded):
    upd = admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": 3, "cores": "-1"}})
    body = check(upd, "v2_1.quotas", "update_quota_set")["quota_set"]
    assert body["instances"] == 3 and body["cores"] == -1
    assert demo("GET", f"/os-quota-sets/{demo_project}").json["quota_set"]["instances"] == 3
    assert demo("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": 5}}).status_code == 403
    bad = admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": -2}})
    assert bad.status_code == 400
    assert admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"bogus": 1}}).status_code == 400
    assert admin("PUT", f"/os-quota-sets/{demo_project}", "2.36",
                 json={"quota_set": {"floating_ips": 1}}).status_code == 400
    with seeded.app.compute.store.session() as session:
        _server(session, demo_project)
        _server(session, demo_project)
    below = admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": 1}})
    assert below.status_code == 400 and "already used and reserved 2" in below.json["badRequest"]["message"]
    forced = admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": 1, "force": True}})
    assert forced.status_code == 200
    detail = demo("GET", f"/os-quota-sets/{demo_project}/detail").json["quota_set"]
    assert detail["instances"] == {"limit": 1, "in_use": 2, "reserved": 0}
    assert detail["cores"]["in_use"] == 2
    assert check(admin("DELETE", f"/os-quota-sets/{demo_project}"), "v2_1.quotas", "delete_quota") == {}
    assert demo("GET", f"/os-quota-sets/{demo_project}").json["quota_set"]["instances"] == 10


def test_reserve_counts_and_refuses(seeded, demo_project):
    store = seeded.app.compute.store
    with store.session() as session:
        quotas.update(session, demo_project, {"instances": 2, "ram": 1024}, region="RegionOne")
        quotas.reserve(session, demo_project, "u", {"instances": 1, "cores": 1, "ram": 512}, region="RegionOne")
        _server(session, demo_project)
        quotas.reserve(session, demo_project, "u", {"instances": 1, "cores": 1, "ram": 512}, region="RegionOne")
        _server(session, demo_project)
    with store.session() as session, pytest.raises(Forbidden) as exc:
        quotas.reserve(session, demo_project, "u", {"instances": 1, "cores": 1, "ram": 512}, region="RegionOne")
    assert exc.value.message == ("Quota exceeded for instances, ram: Requested 1, 512, but already used 2, 1024 "
                                 "of 2, 1024 instances, ram")
    with store.session() as session:
        quotas.update(session, demo_project, {"instances": 10, "ram": 51200}, region="RegionOne")
        _server(session, demo_project, deleted=True)  # deleted servers do not count
        assert quotas.usage(session, demo_project, region="RegionOne")["instances"] == 2
    with store.session() as session:
        quotas.update(session, demo_project, {"instances": 2}, region="RegionOne")
    with store.session() as session, pytest.raises(Forbidden) as exc:
        quotas.reserve(session, demo_project, "u", {"instances": 1}, region="RegionOne")
    assert exc.value.message == "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    with store.session() as session:
        quotas.update(session, demo_project, {"instances": -1}, region="RegionOne")
        quotas.reserve(session, demo_project, "u", {"instances": 100}, region="RegionOne")


def test_reserve_serialises_concurrent_creates(seeded, demo_project):
    """Two threads racing for the last instance: exactly one wins (the lock row serialises them)."""
    import threading

    store = seeded.app.compute.store
    with store.session() as session:
        quotas.update(session, demo_project, {"instances": 1}, region="RegionOne")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        try:
            with store.session() as session:
                quotas.reserve(session, demo_project, "u", {"instances": 1}, region="RegionOne")
                _server(session, demo_project)
            results.append("ok")
        except Forbidden:
            results.append("refused")

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
