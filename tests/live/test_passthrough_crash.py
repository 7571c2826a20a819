"""kill -9 the front Overcast during 50 creates in its passthrough region (issue 10 §Tests).

The upstream is a second ``overcast serve`` (local driver); the front's region ``lab`` reaches it
through the ``openstack`` driver (``overcast.testing.passthrough``).

1. 50 concurrent ``POST /servers`` in ``lab`` (raw HTTP from a thread pool, the demo user's token).
2. Once about half have answered 202, ``kill -9`` the front's whole process group: some builds are
   queued, some between their upstream create and its record, some polling.
3. Restart the front on the same data directory and port (the upstream never stopped).
4. Every create that was answered 202 ends ACTIVE; no operation is left pending or running; the
   upstream's own server list (as the service account, by its ``overcast-key:`` tags) holds
   exactly one server per idempotency key, and its ids are exactly the backend ids of the
   front's live ``lab`` records: nothing made twice, nothing left behind.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from overcast.drivers.openstack.upstream import KEY_TAG, PREFIX, tag_value
from overcast.testing.live import CreateBurst, sdk_connect, wait_for
from overcast.testing.passthrough import SERVICE_PROJECT, SERVICE_USER, Passthrough

pytestmark = pytest.mark.live

CREATES = 50
KILL_AFTER = CREATES // 2
POOL = 8
SETTLE_TIMEOUT = 90.0
#: "networks": "none" needs 2.37
HEADERS = {"Content-Type": "application/json", "OpenStack-API-Version": "compute 2.37"}


def _sql(path: Path, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def _lab_statuses(url: str, token: str) -> dict[str, str]:
    resp = requests.get(f"{url}/servers/detail?limit=1000", headers={"X-Auth-Token": token}, timeout=30)
    resp.raise_for_status()
    return {s["id"]: s["status"] for s in resp.json()["servers"]}


def test_kill_dash_nine_during_passthrough_creates(tmp_path: Path) -> None:
    # leases expire quickly so the restarted front resumes what the dead one held
    with Passthrough(tmp_path, front_env={"OVERCAST_OPS_LEASE_SECONDS": "3"}) as rig:
        _reported(rig, "lab")


def test_kill_dash_nine_during_creates_in_a_libcloud_openstack_region(tmp_path: Path) -> None:
    """The same drill for issue 11's ``[clouds.lab-via-libcloud]``: the front reaches the same
    upstream through libcloud's OpenStack driver (decision 0075), whose builds carry the same tags."""
    with Passthrough(tmp_path, front_env={"OVERCAST_OPS_LEASE_SECONDS": "3"}, start_front=False) as rig:
        # the upstream's URL is known once it runs
        rig.front_extra = (f'\n[clouds.lab-via-libcloud]\ndriver = "libcloud"\nprovider = "openstack"\n'
                           f'key = "{SERVICE_USER}"\nsecret = "env:LAB_PASSWORD"\n'
                           f'auth_url = "{rig.upstream.auth_url}/v3"\nproject = "{SERVICE_PROJECT}"\n')
        rig.start_front_server()
        _reported(rig, "lab-via-libcloud")


def _reported(rig: Passthrough, region: str) -> None:
    try:
        _run(rig, region)
    except BaseException:
        if rig.front is not None:
            print(rig.front.output_tail(80))
        raise


def _run(rig: Passthrough, region: str) -> None:
    front = rig.front
    assert front is not None
    admin = sdk_connect(front.clouds_yaml, "overcast-admin", region_name=region)
    demo = sdk_connect(front.clouds_yaml, "overcast", region_name=region)
    project = demo.current_project_id
    admin.set_compute_quotas(project, instances=-1, cores=-1, ram=-1)
    admin.close()
    image_id = wait_for(lambda: next((i.id for i in demo.image.images()
                                      if (i.properties or {}).get("overcast_backend_region") == region), None),
                        60, description=f"the upstream's image in {region}'s image list")
    url = demo.session.get_endpoint(service_type="compute", interface="public", region_name=region).rstrip("/")
    token = demo.session.get_token()
    demo.close()

    began = time.monotonic()
    bodies = [{"server": {"name": f"pt-crash-{i:02d}", "flavorRef": "1", "imageRef": image_id, "networks": "none"}}
              for i in range(CREATES)]
    burst = CreateBurst().run(front, url, {**HEADERS, "X-Auth-Token": token}, bodies, kill_after=KILL_AFTER,
                              threads=POOL, allowance=60)
    accepted = burst.accepted
    overcast_db = front.data_dir / "overcast.db"
    # what the kill interrupted: builds not yet finished (queued, calling upstream, polling)
    at_kill = Counter(state for (state,) in _sql(overcast_db, "SELECT state FROM operation WHERE kind = 'server.build'"))
    print(f"{burst}; builds at the kill: {dict(at_kill)}")
    assert at_kill["pending"] + at_kill["running"] > 0, f"no build was interrupted: {dict(at_kill)}"
    burst.check(CREATES)

    front.restart()
    demo = sdk_connect(front.clouds_yaml, "overcast", region_name=region)
    token = demo.session.get_token()
    demo.close()

    last: dict[str, str] = {}

    def all_active() -> bool:
        nonlocal last
        last = _lab_statuses(url, token)
        return all(last.get(sid) == "ACTIVE" for sid in accepted)

    wait_for(all_active, SETTLE_TIMEOUT, interval=0.5, max_interval=2.0, description="every accepted server ACTIVE",
             on_timeout=lambda: f"statuses: {Counter(last.get(s, 'MISSING') for s in accepted)}")

    def ops_idle() -> bool:
        return _sql(overcast_db, "SELECT COUNT(*) FROM operation WHERE state IN ('pending', 'running')")[0][0] == 0

    wait_for(ops_idle, 60, interval=0.5, description="no pending/running operation",
             on_timeout=lambda: str(_sql(overcast_db, "SELECT kind, state, attempts, error FROM operation "
                                                     "WHERE state IN ('pending', 'running') LIMIT 20")))
    failed = _sql(overcast_db, "SELECT kind, error FROM operation WHERE state = 'failed'")
    assert not failed, f"operations failed: {failed[:5]}"

    # the front's live lab records (a create the kill cut off before its answer may still have its
    # record, committed, and be built: it is a record like the others)
    records = {row[0]: row for row in _sql(
        overcast_db, "SELECT id, idempotency_key, backend_id, vm_state FROM server "
                     "WHERE cloud = ? AND deleted = 0", (region,))}
    assert set(accepted) <= set(records), f"202 answered but no record: {set(accepted) - set(records)}"
    assert all(row[3] == "active" and row[2] for row in records.values()), \
        f"records not active with a backend id: {[r for r in records.values() if r[3] != 'active' or not r[2]][:5]}"

    # the upstream's own list, as the service account: one server per key, the records' backend ids
    upstream = rig.service_conn()
    try:
        held = [(s.id, tag_value(s.tags, KEY_TAG)) for s in upstream.compute.servers(details=True, tags=PREFIX)]
    finally:
        upstream.close()
    per_key = Counter(key for _, key in held)
    doubled = {k: n for k, n in per_key.items() if n > 1}
    assert not doubled, f"upstream servers made twice for one idempotency key: {doubled}"
    by_key = {row[1]: row[2] for row in records.values()}
    orphans = [(sid, key) for sid, key in held if key not in by_key]
    assert not orphans, f"upstream servers no front record holds: {orphans[:5]}"
    assert {sid for sid, _ in held} == {row[2] for row in records.values()}
    assert all(by_key[key] == sid for sid, key in held)
    print(f"after restart: {len(accepted)} accepted, {len(records)} lab records, {len(held)} upstream servers, "
          f"{time.monotonic() - began:.1f}s in all")
