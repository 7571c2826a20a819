"""Crash safety: kill -9 the server in the middle of a burst of creates; nothing is lost or doubled.

1. Start ``overcast serve --workers 1`` on its own data directory (SQLite, local driver); the
   admin raises the demo project's instance/cores/ram and port quotas so 200 servers fit, and
   the demo user makes a network with a /20 subnet for them.
2. Fire 200 concurrent ``POST /servers`` (raw HTTP, thread pool, the demo user's token).
3. After about half of them have answered 202, ``kill -9`` the server's whole process group.
4. Start it again on the same data directory and port, then poll (bounded) until every server
   that got a 202 is ACTIVE or ERROR.
5. Check: no server left in BUILD, no backend server made twice or left without a record (the
   local cloud's ``local-cloud.db`` against Overcast's ``server`` table, by idempotency key),
   no operation left pending or running (``overcast.db``'s ``operation`` table), and no server
   with more than the one port it asked for (port allocation survives the crash idempotently).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from overcast.testing.live import CreateBurst, LiveServer, wait_for

pytestmark = pytest.mark.live

CREATES = 200
KILL_AFTER = CREATES // 2
POOL = 32
SETTLE_TIMEOUT = 240.0


def _session(server: LiveServer, cloud: str) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth = server.cloud(cloud)["auth"]
    plugin = v3.Password(**{k: v for k, v in auth.items() if k in (
        "auth_url", "username", "password", "user_domain_id", "user_domain_name", "project_name",
        "project_domain_id", "project_domain_name")})
    return ks_session.Session(auth=plugin, timeout=30)


def _compute_url(sess: Any) -> str:
    return sess.get_endpoint(service_type="compute", interface="public", region_name="RegionOne").rstrip("/")


def _all_servers(url: str, token: str) -> list[dict[str, Any]]:
    """Every server of the token's project (follows ``servers_links``), bounded to 20 pages."""
    out: list[dict[str, Any]] = []
    next_url: str | None = f"{url}/servers/detail?limit=1000"
    for _ in range(20):
        if not next_url:
            break
        resp = requests.get(next_url, headers={"X-Auth-Token": token}, timeout=30)
        resp.raise_for_status()
        body = resp.json()
        out.extend(body["servers"])
        next_url = next((ln["href"] for ln in body.get("servers_links", []) if ln.get("rel") == "next"), None)
    return out


def _sql(path: Path, query: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def test_kill_dash_nine_mid_burst_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, workers=1, stop_timeout=15)
    server.start()
    try:
        _run(server, data_dir)
    except BaseException:
        print(server.output_tail(80))
        raise
    finally:
        server.stop()


def _run(server: LiveServer, data_dir: Path) -> None:
    admin = _session(server, "overcast-admin")
    demo = _session(server, "overcast")
    url = _compute_url(demo)
    token = demo.get_token()
    project = demo.get_project_id()

    # quotas first, so every create is admitted
    resp = admin.put(f"{_compute_url(admin)}/os-quota-sets/{project}", raise_exc=False,
                     json={"quota_set": {"instances": 1000, "cores": 1000, "ram": 1000 * 4096}})
    assert resp.status_code == 200, resp.text
    network_url = admin.get_endpoint(service_type="network", interface="public", region_name="RegionOne").rstrip("/")
    resp = admin.put(f"{network_url}/v2.0/quotas/{project}", raise_exc=False, json={"quota": {"port": 1000}})
    assert resp.status_code == 200, resp.text
    network = demo.post(f"{network_url}/v2.0/networks", json={"network": {"name": "crash-net"}}).json()["network"]
    demo.post(f"{network_url}/v2.0/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4,
                                                              "cidr": "10.100.0.0/20"}})
    image_endpoint = demo.get_endpoint(service_type="image", interface="public", region_name="RegionOne")
    images = demo.get(f"{image_endpoint.rstrip('/')}/v2/images", params={"name": "cirros"}).json()["images"]
    image_id = images[0]["id"]

    bodies = [{"server": {"name": f"crash-{i:03d}", "flavorRef": "1", "imageRef": image_id,
                          "networks": [{"uuid": network["id"]}]}} for i in range(CREATES)]
    burst = CreateBurst().run(server, url, {"X-Auth-Token": token, "Content-Type": "application/json"}, bodies,
                              kill_after=KILL_AFTER, threads=POOL, allowance=120)
    accepted = burst.accepted
    print(burst)
    assert accepted, "no create was accepted"
    burst.check(CREATES)

    server.restart()
    token = _session(server, "overcast").get_token()

    # every accepted server settles in ACTIVE or ERROR
    last: dict[str, str] = {}

    def settled() -> bool:
        nonlocal last
        last = {s["id"]: s["status"] for s in _all_servers(url, token)}
        return all(last.get(sid) in ("ACTIVE", "ERROR") for sid in accepted) and \
            not any(status == "BUILD" for status in last.values())

    wait_for(settled, SETTLE_TIMEOUT, interval=0.5, max_interval=2.0, description="every server ACTIVE or ERROR",
             on_timeout=lambda: f"statuses: {Counter(last.get(s, 'MISSING') for s in accepted)}; "
                                f"all listed: {Counter(last.values())}")
    statuses = Counter(last[sid] for sid in accepted)
    print(f"after restart: accepted servers {dict(statuses)}; all servers of the project {dict(Counter(last.values()))}")
    assert set(statuses) <= {"ACTIVE", "ERROR"}
    assert "BUILD" not in last.values()

    # no operation stuck (the last runs may finish a moment after the servers show ACTIVE)
    overcast_db = data_dir / "overcast.db"

    def ops_idle() -> bool:
        return _sql(overcast_db, "SELECT COUNT(*) FROM operation WHERE state IN ('pending', 'running')")[0][0] == 0

    wait_for(ops_idle, 60, interval=0.5, description="no pending/running operation",
             on_timeout=lambda: str(_sql(overcast_db, "SELECT kind, state, attempts, error FROM operation "
                                                     "WHERE state IN ('pending', 'running') LIMIT 20")))

    # every 202 is a record; every record the driver built exists once on the backend, no orphans
    records = {row[0]: row for row in _sql(
        overcast_db, "SELECT id, idempotency_key, backend_id, vm_state, deleted FROM server WHERE project_id = ?",
        (project,))}
    missing = [sid for sid in accepted if sid not in records]
    assert not missing, f"202 answered but no record: {missing[:5]}"
    local_db = data_dir / "local-cloud.db"
    backend = _sql(local_db, "SELECT id, idempotency_key FROM server")
    per_key = Counter(key for _, key in backend)
    doubled = {k: n for k, n in per_key.items() if n > 1}
    assert not doubled, f"backend servers made twice for one idempotency key: {doubled}"
    keys = {row[1]: row for row in records.values()}
    orphans = [(bid, key) for bid, key in backend if key not in keys]
    assert not orphans, f"backend servers with no Overcast record: {orphans[:5]}"
    backend_ids = {bid for bid, _ in backend}
    for sid in accepted:
        _, key, backend_id, vm_state, deleted = records[sid]
        if vm_state == "active":
            assert backend_id in backend_ids, f"ACTIVE server {sid} has no backend server ({backend_id})"
            assert per_key[key] == 1
    with_backend = [r for r in records.values() if r[2] and not r[4]]
    assert len(with_backend) == len(backend), \
        f"{len(with_backend)} live records with a backend id vs {len(backend)} backend servers"

    # ports: one per ACTIVE server (a build re-run after the crash reuses what it made), none left
    # behind by a server that failed
    ports = Counter(row[0] for row in _sql(overcast_db, "SELECT device_id FROM net_port WHERE network_id = ?",
                                           (network["id"],)))
    for sid in accepted:
        expected = 1 if records[sid][3] == "active" else 0
        assert ports.get(sid, 0) == expected, f"server {sid} ({records[sid][3]}) has {ports.get(sid, 0)} ports"
