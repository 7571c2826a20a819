"""Create throughput with 1, 2 and 4 `overcast worker` processes on one PostgreSQL database.

    .venv/bin/python benchmarks/scaleout.py --postgres postgresql://user:pass@127.0.0.1:5432/postgres \\
        [-n 200] [--workers 1 2 4] [--threads 4]

For each worker count: a fresh database, one API-only `overcast serve` (``[ops] serve_workers =
false``) that accepts N server creates (local driver, one port each on a /20) while no worker runs,
then K `overcast worker` processes are started together and timed until every server is ACTIVE
(read from PostgreSQL). Prints servers/s per K: the rate at which workers turn accepted creates
into running servers, which is what scale-out adds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database  # noqa: E402


def _session(server: LiveServer, cloud: str) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth = server.cloud(cloud)["auth"]
    plugin = v3.Password(**{k: v for k, v in auth.items() if k in (
        "auth_url", "username", "password", "user_domain_id", "project_name", "project_domain_id")})
    return ks_session.Session(auth=plugin, timeout=60)


def run_once(admin_url: str, n: int, workers: int, threads: int) -> float:
    import requests
    from sqlalchemy import create_engine, text

    url = create_postgres_database(admin_url, prefix="overcast_scaleout")
    data_dir = Path(tempfile.mkdtemp(prefix="overcast-scaleout-"))
    config = data_dir / "overcast.toml"
    config.write_text(f"[ops]\nserve_workers = false\nthreads = {threads}\n")
    api = LiveServer(data_dir, env={"OVERCAST_DATABASE_URL": url}, config=config)
    procs: list[subprocess.Popen[bytes]] = []
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        api.start()
        admin, demo = _session(api, "overcast-admin"), _session(api, "overcast")

        def endpoint(sess: Any, service: str) -> str:
            return sess.get_endpoint(service_type=service, interface="public", region_name="RegionOne").rstrip("/")

        project = demo.get_project_id()
        admin.put(f"{endpoint(admin, 'compute')}/os-quota-sets/{project}",
                  json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
        admin.put(f"{endpoint(admin, 'network')}/v2.0/quotas/{project}", json={"quota": {"port": -1}})
        network = endpoint(demo, "network")
        net = demo.post(f"{network}/v2.0/networks", json={"network": {"name": "bench"}}).json()["network"]
        demo.post(f"{network}/v2.0/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                              "cidr": "10.40.0.0/20"}})
        image = demo.get(f"{endpoint(demo, 'image')}/v2/images", params={"name": "cirros"}).json()["images"][0]["id"]
        compute, token = endpoint(demo, "compute"), demo.get_token()

        def create(i: int) -> None:
            resp = requests.post(f"{compute}/servers", headers={"X-Auth-Token": token}, timeout=120, json={
                "server": {"name": f"bench-{i}", "flavorRef": "1", "imageRef": image,
                           "networks": [{"uuid": net["id"]}]}})
            resp.raise_for_status()

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(create, range(n)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
        env["OVERCAST_DATABASE_URL"] = url
        started = time.perf_counter()
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "overcast", "--data-dir", str(data_dir), "--config", str(config), "worker",
                 "--no-reconcile"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
        deadline = time.monotonic() + 1800
        with engine.connect() as conn:
            while True:
                done = conn.execute(text("SELECT count(*) FROM server WHERE vm_state IN ('active', 'error')")).scalar()
                if done >= n:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {done}/{n} servers settled")
                time.sleep(0.1)
            errors = conn.execute(text("SELECT count(*) FROM server WHERE vm_state = 'error'")).scalar()
        elapsed = time.perf_counter() - started
        print(f"workers={workers} threads={threads} n={n}: {n / elapsed:.1f} servers/s ({elapsed:.1f}s, "
              f"{errors} ERROR)", flush=True)
        return n / elapsed
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
        api.stop()
        engine.dispose()
        drop_postgres_database(admin_url, url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("OVERCAST_TEST_POSTGRES_URL", ""),
                        help="an admin URL (a database is made and dropped per run)")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    if not args.postgres:
        parser.error("--postgres (or OVERCAST_TEST_POSTGRES_URL) is required")
    for count in args.workers:
        run_once(args.postgres, args.n, count, args.threads)


if __name__ == "__main__":
    main()
