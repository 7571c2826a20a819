"""How long ``POST /_overcast/reset`` takes: wall and CPU seconds of each reset, in process.

    .venv/bin/python -m benchmarks.reset [--resets 10] [--postgres URL]

A fresh data directory is bootstrapped (SQLite, or a database made on ``--postgres``), a few
records are made through the API before each reset (a network, a project, a user), then the reset
is asked for through the testing API. Wall time on a loaded machine includes waits for the disk and
the database's locks; the process CPU time is what the reset itself costs. Loopback only.
This is where the reset's speed is measured (tests check what it does, never how long it takes).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import falcon.testing

from overcast.app import create_app
from overcast.bootstrap import bootstrap
from overcast.config import load_settings
from overcast.testing.live import create_postgres_database, drop_postgres_database


def run(resets: int, postgres: str | None) -> list[tuple[float, float, float]]:
    url = create_postgres_database(postgres) if postgres else None
    try:
        with tempfile.TemporaryDirectory(prefix="overcast-reset-bench-") as tmp:
            settings = load_settings(data_dir=Path(tmp) / "data", identity={"bcrypt_rounds": 4},
                                     database={"url": url} if url else {}, testing={"admin_api": True})
            accounts = {a.username: a.password for a in bootstrap(settings)}
            app = create_app(settings)
            client = falcon.testing.TestClient(app)
            made = client.simulate_post("/identity/v3/auth/tokens", json={"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"id": "default"}, "password": accounts["admin"]}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
            headers = {"X-Auth-Token": made.headers["X-Subject-Token"]}
            out = []
            try:
                for _ in range(resets):
                    name = uuid.uuid4().hex[:8]
                    client.simulate_post("/network/v2.0/networks", headers=headers, json={"network": {"name": name}})
                    client.simulate_post("/identity/v3/projects", headers=headers, json={"project": {"name": name}})
                    client.simulate_post("/identity/v3/users", headers=headers,
                                         json={"user": {"name": name, "password": "pw-123456"}})
                    wall, cpu = time.perf_counter(), time.process_time()
                    resp = client.simulate_post("/_overcast/reset", headers=headers)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    if resp.status_code != 200:
                        raise SystemExit(f"reset answered {resp.status_code}: {resp.text}")
                    out.append((wall, cpu, resp.json["reset"]["seconds"]))
            finally:
                app.compute.close()
                app.identity.store.dispose()
            return out
    finally:
        if url:
            drop_postgres_database(postgres, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL server URL to make a throw-away database on")
    args = parser.parse_args()
    rows = run(args.resets, args.postgres)
    for label, index in (("wall (request)", 0), ("cpu (process)", 1), ("reported by the API", 2)):
        values = [r[index] for r in rows]
        print(f"{label:22} median {statistics.median(values) * 1000:8.1f} ms   max {max(values) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
