"""Scale-out, shown: 2 `overcast serve` API processes and 2 `overcast worker` processes on one
PostgreSQL database (one data directory, one config), 300 concurrent server creates and 100 volume
creates; one worker and one API process are killed with -9 mid-burst and restarted.

Checked (each its own test, on one run of the drill):
- every accepted request has its record; no operation stays pending/running;
- no backend server or volume made twice, none left without a record (the local cloud's own
  SQLite file against PostgreSQL, by idempotency key);
- everything settles within ``SETTLE_BOUND`` seconds of the restart;
- every accepted create ends ACTIVE / available (issue 16.1: concurrent address allocation on
  PostgreSQL retries within the pools; 16.3: a resumed volume create records its disk).

Needs ``OVERCAST_TEST_POSTGRES_URL`` (skipped without it). Prints the drill's table.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database, wait_for

pytestmark = pytest.mark.live

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
SERVERS = 300
VOLUMES = 100
KILL_AFTER = 120  # accepted requests before the kills
POOL = 32
SETTLE_BOUND = float(os.environ.get("OVERCAST_DRILL_SETTLE_SECONDS", "15"))
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[ops]
serve_workers = false   # API-only nodes: the `overcast worker` processes do the work
threads = 8
[server]
workers = 1
"""


class Node(LiveServer):
    """A LiveServer sharing the data directory with others: its own log file."""

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = name

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"serve-{self.name}.log"


class Worker:
    def __init__(self, name: str, data_dir: Path, config: Path, env: dict[str, str]) -> None:
        self.name, self.data_dir, self.config, self.env = name, data_dir, config, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Worker":
        log = open(self.data_dir / f"worker-{self.name}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "overcast", "--data-dir", str(self.data_dir), "--config", str(self.config),
             "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


@dataclass
class Drill:
    accepted_servers: list[str] = field(default_factory=list)
    accepted_volumes: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    server_status: dict[str, str] = field(default_factory=dict)
    volume_status: dict[str, str] = field(default_factory=dict)
    server_faults: Counter[str] = field(default_factory=Counter)
    settled_after: float = 0.0
    since_kill: float = 0.0
    answered_after_kill: int = 0
    stuck_operations: list[tuple] = field(default_factory=list)
    records: dict[str, tuple] = field(default_factory=dict)
    volume_records: dict[str, tuple] = field(default_factory=dict)
    backend_servers: list[tuple] = field(default_factory=list)
    backend_volumes: list[tuple] = field(default_factory=list)


def _session(server: LiveServer, cloud: str) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth = server.cloud(cloud)["auth"]
    plugin = v3.Password(**{k: v for k, v in auth.items() if k in (
        "auth_url", "username", "password", "user_domain_id", "project_name", "project_domain_id")})
    return ks_session.Session(auth=plugin, timeout=60)


def _sqlite(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Drill:  # noqa: C901 - one scenario, top to bottom
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    import requests
    from sqlalchemy import create_engine, text

    data_dir = tmp_path_factory.mktemp("scaleout")
    config = data_dir / "overcast.toml"
    config.write_text(CONFIG)
    url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_drill")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    env.update(OVERCAST_DATABASE_URL=url, OVERCAST_IDENTITY_BCRYPT_ROUNDS="4", PYTHONPATH=str(ROOT))
    node_env = {"OVERCAST_DATABASE_URL": url}
    apis = [Node(f"api{n}", data_dir, env=node_env, config=config, stop_timeout=20) for n in (1, 2)]
    workers = [Worker(f"w{n}", data_dir, config, env) for n in (1, 2)]
    result = Drill()
    try:
        for api in apis:  # one after the other: the first bootstraps
            api.start()
        for worker in workers:
            worker.start()
        admin, demo = _session(apis[0], "overcast-admin"), _session(apis[0], "overcast")
        token = demo.get_token()
        project = demo.get_project_id()
        ports = [api.port for api in apis]

        def endpoint(sess: Any, service: str) -> str:
            return sess.get_endpoint(service_type=service, interface="public", region_name="RegionOne").rstrip("/")

        compute, network, volume = endpoint(demo, "compute"), endpoint(demo, "network"), endpoint(demo, "volumev3")
        assert admin.put(f"{endpoint(admin, 'compute')}/os-quota-sets/{project}", raise_exc=False, json={
            "quota_set": {"instances": 2000, "cores": 2000, "ram": 2000 * 4096}}).status_code == 200
        assert admin.put(f"{endpoint(admin, 'network')}/v2.0/quotas/{project}", raise_exc=False,
                         json={"quota": {"port": 2000}}).status_code == 200
        assert admin.put(f"{endpoint(admin, 'volumev3')}/os-quota-sets/{project}", raise_exc=False, json={
            "quota_set": {"volumes": 2000, "gigabytes": 4000}}).status_code == 200
        net = demo.post(f"{network}/v2.0/networks", json={"network": {"name": "drill-net"}}).json()["network"]
        demo.post(f"{network}/v2.0/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                              "cidr": "10.30.0.0/20"}})
        image = demo.get(f"{endpoint(demo, 'image')}/v2/images", params={"name": "cirros"}).json()["images"][0]["id"]

        def on(port: int, base: str) -> str:  # the same URL on a given API node (the catalog names one)
            return urllib.parse.urlsplit(base)._replace(netloc=f"127.0.0.1:{port}").geturl()

        lock = threading.Lock()
        half = threading.Event()
        killed_at: list[float] = []

        def kill() -> None:
            workers[0].kill()
            assert apis[0].process is not None
            os.killpg(apis[0].process.pid, signal.SIGKILL)  # granian's main process and its worker
            apis[0].process.wait(10)
            killed_at.append(time.monotonic())

        def post(i: int) -> None:
            port = ports[(i // 4 + i) % 2]  # servers and volumes to both nodes
            if i % 4 == 3:
                kind, url_ = "volume", f"{on(port, volume)}/volumes"
                body: dict[str, Any] = {"volume": {"name": f"drill-vol-{i:03d}", "size": 1}}
            else:
                kind, url_ = "server", f"{on(port, compute)}/servers"
                body = {"server": {"name": f"drill-{i:03d}", "flavorRef": "1", "imageRef": image,
                                   "networks": [{"uuid": net["id"]}]}}
            try:
                resp = requests.post(url_, json=body, timeout=60, headers={"X-Auth-Token": token})
            except requests.RequestException as exc:
                with lock:
                    result.outcomes[f"{kind} {type(exc).__name__}"] += 1
                return
            with lock:
                result.outcomes[f"{kind} {resp.status_code}"] += 1
                if resp.status_code == 202:
                    (result.accepted_servers if kind == "server" else result.accepted_volumes).append(
                        resp.json()[kind]["id"])
                if len(result.accepted_servers) + len(result.accepted_volumes) >= KILL_AFTER and not half.is_set():
                    half.set()
                    kill()  # at once, from the thread that saw the count: mid-burst, not after it

        total = SERVERS + VOLUMES
        with ThreadPoolExecutor(max_workers=POOL) as pool:
            futures = [pool.submit(post, i) for i in range(total)]
            assert half.wait(300), f"fewer than {KILL_AFTER} accepted: {dict(result.outcomes)}"
            for future in futures:
                future.result(timeout=300)
        result.answered_after_kill = sum(result.outcomes.values()) - KILL_AFTER
        workers[0].start()
        apis[0].restart()
        restarted = time.monotonic()  # both processes are back (the API answers; the worker is starting)

        def settled() -> bool:
            servers = {s["id"]: s for s in _all(requests, f"{on(ports[1], compute)}/servers/detail?limit=1000", token,
                                                "servers")}
            volumes = {v["id"]: v for v in _all(requests, f"{on(ports[1], volume)}/volumes/detail?limit=1000", token,
                                                "volumes")}
            result.server_status = {sid: servers.get(sid, {}).get("status", "MISSING") for sid in
                                    result.accepted_servers}
            result.volume_status = {vid: volumes.get(vid, {}).get("status", "MISSING") for vid in
                                    result.accepted_volumes}
            result.server_faults = Counter(
                re.sub(r"[0-9a-f-]{36}|\d+\.\d+\.\d+\.\d+", "*", servers[sid].get("fault", {}).get("message", ""))[:160]
                for sid in result.accepted_servers if servers.get(sid, {}).get("status") == "ERROR")
            return (set(result.server_status.values()) <= {"ACTIVE", "ERROR"}
                    and set(result.volume_status.values()) <= {"available", "error"})

        wait_for(settled, 600, interval=0.5, description="every accepted create to settle",
                 on_timeout=lambda: f"{Counter(result.server_status.values())} {Counter(result.volume_status.values())}")
        result.settled_after = time.monotonic() - restarted
        result.since_kill = time.monotonic() - killed_at[0]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(text("SELECT count(*) FROM operation WHERE state IN ('pending','running') "
                                               "AND kind IN ('server.build', 'volume.create')")).scalar() == 0,
                     60, interval=0.5, description="no create operation left running")
            result.stuck_operations = [tuple(r) for r in conn.execute(text(
                "SELECT kind, state, attempts, error FROM operation WHERE state IN ('pending','running')"))]
            result.records = {r[0]: tuple(r) for r in conn.execute(text(
                "SELECT id, idempotency_key, backend_id, vm_state, deleted FROM server WHERE project_id = :p"),
                {"p": project})}
            result.volume_records = {r[0]: tuple(r) for r in conn.execute(text(
                "SELECT id, backend_id, status FROM volume WHERE project_id = :p"), {"p": project})}
        engine.dispose()
        result.backend_servers = _sqlite(data_dir / "local-cloud.db", "SELECT id, idempotency_key FROM server")
        result.backend_volumes = _sqlite(data_dir / "local-cloud.db", "SELECT id, idempotency_key FROM volume")
        print(_table(result))
        return result
    finally:
        for worker in workers:
            worker.stop()
        for api in apis:
            api.stop()
        drop_postgres_database(POSTGRES_ADMIN_URL, url)


def _all(requests: Any, url: str, token: str, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(20):
        if not next_url:
            break
        resp = requests.get(next_url, headers={"X-Auth-Token": token}, timeout=60)
        resp.raise_for_status()
        body = resp.json()
        out.extend(body[key])
        next_url = next((ln["href"] for ln in body.get(f"{key}_links", []) if ln.get("rel") == "next"), None)
    return out


def _table(d: Drill) -> str:
    servers, volumes = Counter(d.server_status.values()), Counter(d.volume_status.values())
    tried_servers = sum(n for k, n in d.outcomes.items() if k.startswith("server"))
    tried_volumes = sum(n for k, n in d.outcomes.items() if k.startswith("volume"))
    fivexx = sum(n for k, n in d.outcomes.items() if k.split()[1].startswith("5"))
    return (f"\nscale-out drill (2 API + 2 workers, PostgreSQL): outcomes {dict(d.outcomes)}\n"
            f"| kind | tried | accepted | lost | duplicated | stuck | 5xx | end states |\n"
            f"| servers | {tried_servers} | {len(d.accepted_servers)} | {servers.get('MISSING', 0)} | "
            f"{_doubled(d.backend_servers)} | {len(d.stuck_operations)} | {fivexx} | {dict(servers)} |\n"
            f"| volumes | {tried_volumes} | {len(d.accepted_volumes)} | {volumes.get('MISSING', 0)} | "
            f"{_doubled(d.backend_volumes)} | - | - | {dict(volumes)} |\n"
            f"settled {d.settled_after:.1f}s after the restart ({d.since_kill:.1f}s after the kills); "
            f"ERROR faults: {dict(d.server_faults)}")


def _doubled(backend: list[tuple]) -> int:
    return sum(n - 1 for n in Counter(key for _, key in backend).values() if n > 1)


def test_every_accepted_request_has_a_record_and_no_operation_is_left(drill: Drill) -> None:
    assert drill.accepted_servers and drill.accepted_volumes
    assert len(drill.accepted_servers) + len(drill.accepted_volumes) >= KILL_AFTER
    assert sum(n for k, n in drill.outcomes.items() if "Error" in k) > 0, drill.outcomes  # requests to the dead node
    assert not [s for s in drill.accepted_servers if s not in drill.records]
    assert not [v for v in drill.accepted_volumes if v not in drill.volume_records]
    assert drill.stuck_operations == []
    assert not [k for k in drill.outcomes if k.split()[1].startswith("5")], drill.outcomes


def test_no_duplicates_and_no_orphans_in_the_driver(drill: Drill) -> None:
    assert _doubled(drill.backend_servers) == 0
    keys = {r[1] for r in drill.records.values()}
    assert [b for b in drill.backend_servers if b[1] not in keys] == []  # every backend server has a record
    live_backend_ids = {r[2] for r in drill.records.values() if r[2] and not r[4]}
    assert live_backend_ids == {b[0] for b in drill.backend_servers}
    assert _doubled(drill.backend_volumes) == 0


def test_every_backend_volume_is_the_one_its_record_names(drill: Drill) -> None:
    unrecorded = [r for r in drill.volume_records.values() if r[2] == "available" and not r[1]]
    assert unrecorded == []
    volume_backend_ids = {r[1] for r in drill.volume_records.values() if r[1]}
    assert volume_backend_ids == {b[0] for b in drill.backend_volumes}


def test_everything_settles_soon_after_the_restart(drill: Drill) -> None:
    assert drill.settled_after <= SETTLE_BOUND, f"settled {drill.settled_after:.1f}s after the restart"


def test_every_accepted_create_ends_active_or_available(drill: Drill) -> None:
    assert set(drill.server_status.values()) == {"ACTIVE"}, drill.server_faults
    assert set(drill.volume_status.values()) == {"available"}
