"""How many backend reads the operations' polls cost (issue 10 §2: "build polls once a second per
server: poll many at once").

N servers are built on the local driver with a build delay (so every build polls), in-process
(Falcon's test client, the operation workers of ``overcast serve``); the region's ``get_many`` and
``get`` are counted. Before batching, every poll was one ``get``: the figure to compare with is the
number of polls.

    .venv/bin/python -m benchmarks.polls --servers 40 --build-delay 10

Prints one line: polls answered, ``get_many`` calls, server reads in them, single ``get`` calls.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import falcon.testing
from sqlalchemy import select

from overcast.app import build_operations, create_app
from overcast.bootstrap import prepare
from overcast.config import CloudSettings, load_settings
from overcast.core.compute import build_compute, quotas
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.core.image.seed import CIRROS_ID
from overcast.ops.models import Operation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=40)
    parser.add_argument("--build-delay", type=float, default=10.0)
    args = parser.parse_args()
    settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="overcast-polls-")) / "data",
                             identity={"bcrypt_rounds": 4}, environ={})
    settings = settings.replace(clouds=(CloudSettings(name="RegionOne", options={"build_delay": args.build_delay}),))
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    password = {a.username: a.password for a in prepare(identity, compute, images)}["demo"]
    client = falcon.testing.TestClient(create_app(settings, identity, compute, images))
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
    issued = client.simulate_post("/identity/v3/auth/tokens", json=auth)
    token, project = issued.headers["X-Subject-Token"], issued.json["token"]["project"]["id"]
    with compute.store.session() as session:
        quotas.update(session, project, {"instances": -1, "cores": -1, "ram": -1}, region="RegionOne")
    driver = compute.compute_driver("RegionOne")
    counts = {"get_many": 0, "reads": 0, "get": 0}
    get_many, get = driver.get_many, driver.get

    def counted_many(ctx: Any, ids: Any) -> Any:
        ids = list(ids)
        counts["get_many"] += 1
        counts["reads"] += len(ids)
        return get_many(ctx, ids)

    def counted_get(ctx: Any, backend_id: str) -> Any:
        counts["get"] += 1
        return get(ctx, backend_id)

    driver.get_many, driver.get = counted_many, counted_get  # type: ignore[method-assign]
    runtime = build_operations(compute).start(reconcile=False)
    began = time.monotonic()
    try:
        for i in range(args.servers):
            resp = client.simulate_post("/compute/v2.1/servers", headers={
                "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.79"}, json={"server": {
                    "name": f"poll-{i}", "flavorRef": "1", "imageRef": CIRROS_ID, "networks": "none"}})
            assert resp.status_code == 202, resp.text
        deadline = time.monotonic() + args.build_delay * 3 + 60
        while True:
            with compute.store.session() as session:
                ops = list(session.scalars(select(Operation).where(Operation.kind == "server.build")))
            if len(ops) == args.servers and all(op.state == "succeeded" for op in ops):
                break
            assert time.monotonic() < deadline, "the builds did not finish"
            time.sleep(0.2)
    finally:
        runtime.stop()
        compute.close()
        identity.store.dispose()
    polls = sum(op.polls + 1 for op in ops)
    print(f"{args.servers} builds, build_delay {args.build_delay:g} s, {time.monotonic() - began:.1f} s: "
          f"{polls} polls answered by {counts['get_many']} get_many calls ({counts['reads']} server reads in "
          f"them) and {counts['get']} single gets (before batching: {polls} gets)")


if __name__ == "__main__":
    main()
