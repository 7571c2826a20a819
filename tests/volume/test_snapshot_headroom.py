"""A snapshot must also fit what the region's backend itself still allows (decision 0046): where the
volume driver reports its headroom, a snapshot over it is Cinder's 413 on the POST and nothing is
recorded; what was accepted counts into the kept read."""

from __future__ import annotations

from overcast.drivers.headroom import Headroom
from overcast.store.volume import Snapshot


def _reporting(driver, headroom: Headroom, monkeypatch) -> list[int]:  # noqa: ANN001
    reads: list[int] = []
    target = getattr(driver, "inner", driver)  # under the fault book's wrapper, when there is one

    def read(ctx):  # noqa: ANN001, ANN202
        reads.append(1)
        return headroom

    monkeypatch.setattr(target, "reports_headroom", True, raising=False)
    monkeypatch.setattr(target, "headroom", read, raising=False)
    return reads


def test_a_snapshot_over_the_backends_quota_is_cinders_413(cloud, cinder, monkeypatch):  # noqa: ANN001
    volume = cinder.create(size=2, name="src")
    core = cloud.app.compute
    core.backend_quotas.forget()
    driver = core.clouds["RegionOne"].volume
    reads = _reporting(driver, Headroom(limits={"snapshots": 3, "gigabytes": 10},
                                        used={"snapshots": 3, "gigabytes": 1}), monkeypatch)
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "one-more"}})
    assert resp.status_code == 413, resp.text
    assert "Maximum number of snapshots allowed (3) exceeded for quota 'snapshots'." in resp.text
    core.backend_quotas.forget()
    _reporting(driver, Headroom(limits={"snapshots": 10, "gigabytes": 10}, used={"snapshots": 0, "gigabytes": 9}),
               monkeypatch)
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "too-big"}})
    assert resp.status_code == 413, resp.text
    assert "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 10G and 9G " \
           "has been consumed." in resp.text
    with cloud.app.volume.store.session() as session:
        assert session.query(Snapshot).count() == 0
    # room for one: the first is taken, the second is refused on the kept read plus what was taken
    core.backend_quotas.forget()
    reads = _reporting(driver, Headroom(limits={"snapshots": 1, "gigabytes": 10},
                                        used={"snapshots": 0, "gigabytes": 0}), monkeypatch)
    first = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "fits"}})
    assert first.status_code == 202, first.text
    cinder.wait(first.json["snapshot"]["id"], "available", collection="snapshots")
    second = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"], "name": "no-room"}})
    assert second.status_code == 413, second.text
    assert len(reads) == 1  # kept, not asked again
    # a snapshot of a volume the caller cannot see is a 404 before the backend is asked anything
    missing = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": "00000000-0000-4000-8000-000000000000", "name": "x"}})
    assert missing.status_code == 404 and len(reads) == 1
