"""Network drills on PostgreSQL (and SQLite) with live ``overcast serve`` processes (issue 16, items 1 and 2).

1. Two API processes on one PostgreSQL database (and one data directory: one host's local cloud),
   16 client threads creating ports on one /24 through both: every create answers 201, no address
   is handed out twice, and every port ends ACTIVE. (Before: every allocator tried the lowest free
   address and gave up after five clashes.)
2. ``kill -9`` of the server in the middle of a burst of port and server creates, then a restart:
   every accepted port ends ACTIVE, every accepted server ACTIVE with exactly one port, no address
   is blocked (new ports on the same network are made and wired), and after one reconcile pass
   the backend holds no object the store does not know, and the store no record the backend
   lacks. (Before: the local driver recorded an address in its own file before the main
   transaction committed; after the kill, every new port on that network answered 409.)

The kill drill also runs on the embedded default's SQLite; the PostgreSQL cases are skipped without
``OVERCAST_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from sqlalchemy import func, select

from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database, wait_for

pytestmark = pytest.mark.live

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")


@pytest.fixture
def database_url() -> Any:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_network_drill")
    yield url
    drop_postgres_database(POSTGRES_ADMIN_URL, url)


class Api:
    """Raw HTTP against one or more servers sharing a database (tokens validate on all of them)."""

    def __init__(self, servers: list[LiveServer], cloud: str = "overcast"):
        self.bases = [s.base_url for s in servers]
        auth = servers[0].cloud(cloud)["auth"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "domain": {"id": "default"}, "password": auth["password"]}}},
            "scope": {"project": {"name": auth["project_name"], "domain": {"id": "default"}}}}}
        resp = requests.post(f"{self.bases[0]}/identity/v3/auth/tokens", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        self.token = resp.headers["X-Subject-Token"]
        self.project = resp.json()["token"]["project"]["id"]

    def __call__(self, method: str, path: str, body: dict | None = None, server: int = 0) -> requests.Response:
        return requests.request(method, self.bases[server % len(self.bases)] + path, json=body, timeout=60,
                                headers={"X-Auth-Token": self.token})


def _topology(api: Api, admin: Api, cidr: str) -> tuple[str, str]:
    assert admin("PUT", f"/network/v2.0/quotas/{api.project}", {"quota": {"port": -1}}).status_code == 200
    network = api("POST", "/network/v2.0/networks", {"network": {"name": "drill"}}).json()["network"]["id"]
    resp = api("POST", "/network/v2.0/subnets", {"subnet": {"network_id": network, "ip_version": 4, "cidr": cidr}})
    assert resp.status_code == 201, resp.text
    return network, resp.json()["subnet"]["id"]


def _ports(api: Api, network: str) -> dict[str, dict]:
    resp = api("GET", f"/network/v2.0/ports?network_id={network}")
    assert resp.status_code == 200, resp.text
    return {p["id"]: p for p in resp.json()["ports"]}


def _burst(calls: list[Callable[[], Any]], threads: int, on_answer: Callable[[Any], None] | None = None) -> list:
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(call) for call in calls]
        results = []
        for future in futures:
            results.append(future.result(timeout=300))
            if on_answer is not None:
                on_answer(results[-1])
        return results


def test_two_api_processes_allocate_concurrently_without_a_failure(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {"OVERCAST_DATABASE_URL": database_url}
    first = LiveServer(data_dir, env=env).start()
    second = LiveServer(data_dir, env=env)
    try:
        second.start()
        api, admin = Api([first, second]), Api([first, second], "overcast-admin")
        network, _ = _topology(api, admin, "10.120.0.0/24")
        count = 200

        def create(i: int) -> Callable[[], tuple[int, dict]]:
            def call() -> tuple[int, dict]:
                resp = api("POST", "/network/v2.0/ports", {"port": {
                    "network_id": network, "device_id": f"vm-{i}", "device_owner": "compute:drill"}}, server=i)
                return resp.status_code, resp.json()
            return call

        results = _burst([create(i) for i in range(count)], threads=16)
        statuses = Counter(code for code, _ in results)
        print(f"two API processes, {count} concurrent port creates: {dict(statuses)}")
        assert statuses == {201: count}, [body for code, body in results if code != 201][:3]
        addresses = [a["ip_address"] for _, body in results for a in body["port"]["fixed_ips"]]
        assert len(addresses) == count and len(set(addresses)) == count
        made = {body["port"]["id"] for _, body in results}
        wait_for(lambda: all(p["status"] == "ACTIVE" for i, p in _ports(api, network).items() if i in made), 120,
                 interval=0.2, description="every port ACTIVE")
    except BaseException:
        print(first.output_tail(40))
        raise
    finally:
        second.stop()
        first.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_dash_nine_mid_burst_leaves_no_address_blocked_and_backend_in_step(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    data_dir = tmp_path / "data"
    if backend == "postgresql":
        database_url = request.getfixturevalue("database_url")
        env = {"OVERCAST_DATABASE_URL": database_url}
    else:  # the embedded default: the data directory's own SQLite file
        database_url, env = f"sqlite:///{(data_dir / 'overcast.db').resolve()}", {}
    server = LiveServer(data_dir, env=env, workers=1, stop_timeout=15)
    server.start()
    try:
        _kill_drill(server, data_dir, database_url)
    except BaseException:
        print(server.output_tail(80))
        raise
    finally:
        server.stop()


def _kill_drill(server: LiveServer, data_dir: Path, database_url: str) -> None:
    api, admin = Api([server]), Api([server], "overcast-admin")
    network, subnet = _topology(api, admin, "10.121.0.0/22")
    assert admin("PUT", f"/compute/v2.1/os-quota-sets/{api.project}", {"quota_set": {
        "instances": 1000, "cores": 1000, "ram": 1000 * 4096}}).status_code == 200
    image = api("GET", "/image/v2/images?name=cirros").json()["images"][0]["id"]
    accepted: dict[str, list[str]] = {"port": [], "server": []}
    outcomes: Counter[str] = Counter()
    lock, half = threading.Lock(), threading.Event()

    def port(i: int) -> Callable[[], None]:
        def call() -> None:
            _record(lambda: api("POST", "/network/v2.0/ports", {"port": {
                "network_id": network, "device_id": f"vm-{i}", "device_owner": "compute:drill"}}), "port")
        return call

    def vm(i: int) -> Callable[[], None]:
        def call() -> None:
            _record(lambda: api("POST", "/compute/v2.1/servers", {"server": {
                "name": f"drill-{i}", "flavorRef": "1", "imageRef": image, "networks": [{"uuid": network}]}}),
                "server")
        return call

    def _record(send: Callable[[], requests.Response], kind: str) -> None:
        try:
            resp = send()
        except requests.RequestException as exc:
            with lock:
                outcomes[type(exc).__name__] += 1
            return
        with lock:
            outcomes[f"{kind} {resp.status_code}"] += 1
            if resp.status_code in (201, 202):
                accepted[kind].append(resp.json()[kind]["id"])
                if len(accepted["port"]) + len(accepted["server"]) >= 60:
                    half.set()

    calls = [vm(i) if i % 5 == 0 else port(i) for i in range(150)]
    with ThreadPoolExecutor(24) as pool:
        futures = [pool.submit(call) for call in calls]
        assert half.wait(180), f"too few creates answered: {dict(outcomes)}"
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        for future in futures:
            future.result(timeout=120)
    print(f"burst: {dict(outcomes)}; accepted {len(accepted['port'])} ports, {len(accepted['server'])} servers")
    assert not any(k.split()[-1].startswith("5") for k in outcomes), dict(outcomes)
    assert sum(outcomes.values()) > len(accepted["port"]) + len(accepted["server"]), "the kill came too late"

    server.restart()
    api = Api([server])
    store = _store(database_url)
    try:
        _settled(store, 240)
        ports = _ports(api, network)
        missing = [p for p in accepted["port"] if p not in ports]
        assert not missing, f"accepted ports without a record: {missing[:3]}"
        assert Counter(ports[p]["status"] for p in accepted["port"]) == {"ACTIVE": len(accepted["port"])}
        servers = {sid: api("GET", f"/compute/v2.1/servers/{sid}").json()["server"] for sid in accepted["server"]}
        wait_for(lambda: all(api("GET", f"/compute/v2.1/servers/{s}").json()["server"]["status"] in ("ACTIVE", "ERROR")
                             for s in servers), 240, interval=0.5, description="servers settled")
        states = Counter(api("GET", f"/compute/v2.1/servers/{s}").json()["server"]["status"] for s in servers)
        print(f"after restart: ports {Counter(ports[p]['status'] for p in accepted['port'])}, servers {dict(states)}")
        assert states == {"ACTIVE": len(servers)}, states
        per_server = Counter(p["device_id"] for p in _ports(api, network).values())
        assert all(per_server[s] == 1 for s in servers), {s: per_server[s] for s in servers}

        # no address is blocked: new ports on the same network are made and wired
        fresh = _burst([lambda: api("POST", "/network/v2.0/ports", {"port": {
            "network_id": network, "device_id": "after", "device_owner": "compute:drill"}}) for _ in range(20)], 8)
        assert Counter(r.status_code for r in fresh) == {201: 20}, [r.text for r in fresh if r.status_code != 201][:3]
        made = {r.json()["port"]["id"] for r in fresh}
        wait_for(lambda: all(p["status"] == "ACTIVE" for i, p in _ports(api, network).items() if i in made), 120,
                 interval=0.2, description="the new ports ACTIVE")

        # one reconcile pass, then the backend and the store agree both ways
        _settled(store, 120)
        held, known = _reconciled(data_dir, database_url)
        for kind in held:
            assert held[kind] == known[kind], (kind, held[kind] ^ known[kind])
    finally:
        store.dispose()


def _store(url: str) -> Any:
    from overcast.store.db import Store

    return Store(url)


def _settled(store: Any, timeout: float) -> None:
    from overcast.core.network import SYNC
    from overcast.ops.models import PENDING, RUNNING, Operation

    def idle() -> bool:
        with store.session() as session:
            return not session.scalar(select(func.count()).select_from(Operation).where(
                Operation.kind == SYNC, Operation.state.in_((PENDING, RUNNING))))

    wait_for(idle, timeout, interval=0.2, max_interval=1.0, description="no network operation pending or running")


def _reconciled(data_dir: Path, database_url: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """One reconcile pass run here (as the reconciler of any process would), then what the backend
    holds and what the store knows for it, by kind."""
    from overcast.config import load_settings
    from overcast.core.compute import build_compute
    from overcast.core.identity import build_identity
    from overcast.core.network.operations import MODELS, Realiser, owned_by_the_backend
    from overcast.drivers.context import CallContext
    from overcast.store.network import Port

    settings = load_settings(data_dir=data_dir, environ={}, database={"url": database_url})
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    try:
        network = compute.network
        ctx = type("Ctx", (), {"abandoned": threading.Event(), "session": staticmethod(network.store.session)})()
        Realiser(network).reconcile(network.region, ctx)
        deadline = time.monotonic() + 120
        while True:  # what the pass enqueued (re-applies) has run in the server
            with network.store.session() as session:
                from overcast.core.network import SYNC
                from overcast.ops.models import PENDING, RUNNING, Operation

                busy = session.scalar(select(func.count()).select_from(Operation).where(
                    Operation.kind == SYNC, Operation.state.in_((PENDING, RUNNING))))
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        driver = network.driver
        held = {kind: {o.id for o in driver.list_objects(CallContext(), kind)} for kind in MODELS}
        with network.store.session() as session:
            known = {}
            for kind, model in MODELS.items():
                records = session.scalars(select(model).where(model.cloud == network.region))
                known[kind] = {r.id for r in records if not (isinstance(r, Port) and owned_by_the_backend(r))}
        return held, known
    finally:
        compute.close()
        identity.store.dispose()
