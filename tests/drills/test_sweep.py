"""The depth and type sweep (issue 16 §4, §5): every endpoint that takes a body, from the endpoint
registry, gets bodies no client should send, and must never answer a 5xx nor keep anything from a
request it refused; afterwards every list and show still answers.

What each endpoint is sent, generated from its example body (catalog.py) and the request schemas
it validated against (captured while the example was sent), so a new endpoint is swept as soon as
it is declared:

- malformed JSON, non-UTF-8 bytes, ``NaN``/``Infinity``/``1e999``, a JSON scalar or array, nothing;
- the body nested 1000 levels deep, and an extra attribute nested past the depth limit;
- for every field at the top level and inside the resource's wrapper object: 2**64, -2**63-1,
  1.5e308, a string, a boolean, null, an object, an array of a string, an array of an object,
  and a string of 300,000 characters.

"Nothing kept" is measured on SQLite's ``PRAGMA data_version`` (it changes when any other
connection commits): a 4xx must leave it where it was. The world runs no workers during the sweep,
but for Cinder's exports (os-initialize_connection, attachment updates), which a request waits
for: a worker runs those, and only those, so what it commits belongs to the request waiting.
With ``OVERCAST_TEST_POSTGRES_URL`` set, the sweep runs on PostgreSQL too (where a string longer
than its column, or an integer beyond its column's range, is an error SQLite never raises); there
only the status is checked.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import uuid
from typing import Any, Iterator

import pytest

from catalog import examples, headers_for, url
from overcast.api import validation
from overcast.api.routing import MOUNTS, Endpoint
from overcast.core.volume import build_volume, exports
from overcast.ops.runtime import OpsRuntime
from world import World, deep

BODY_METHODS = ("POST", "PUT", "PATCH")
BAD_VALUES: list[tuple[str, Any]] = [
    ("2**64", 2 ** 64), ("-2**63-1", -2 ** 63 - 1), ("1.5e308", 1.5e308), ("a string", "drill"),
    ("true", True), ("null", None), ("an object", {"a": {"b": 1}}), ("[string]", ["abc"]),
    ("[object]", [{"a": 1}]), ("300k string", "x" * 300_000),
]
RAW: list[tuple[str, bytes]] = [
    ("non-UTF-8", b'{"name": "\xff\xfe"}'), ("NaN", b'{"x": NaN}'), ("Infinity", b'{"x": Infinity}'),
    ("1e999", b'{"x": 1e999}'), ("malformed", b'{"x": '), ("a JSON array", b"[]"), ("a JSON string", b'"x"'),
    ("JSON null", b"null"), ("no body", b""), ("1000 deep", b'{"a": ' * 1000 + b'"x"' + b"}" * 1000),
]
#: the unique names catalog.examples() gives what it creates
UNIQUE = re.compile(rb"drill-[0-9a-f]{8}")
#: requests that may commit although they are refused: a failed login counts toward lockout
COMMITS_WHEN_REFUSED = {("identity", "v3_auth_tokens"), ("identity", "v2_tokens")}


class Schemas:
    """Records the request schemas validated while it is active (wraps ``validation.validator``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.seen: list[dict[str, Any]] = []
        original = validation.validator

        def recording(schema: Any) -> Any:
            self.seen.append(schema)
            return original(schema)

        monkeypatch.setattr(validation, "validator", recording)


def _properties(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    props = dict(schema.get("properties") or {})
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            props.update(_properties(sub))
    return props


def _wrapper(body: Any, schema: Any) -> str | None:
    """The key of the resource's wrapper object (``{"server": {...}}``), if the body has one."""
    if isinstance(body, dict) and len(body) == 1:
        key = next(iter(body))
        if isinstance(body[key], dict):
            return key
    props = _properties(schema)
    if len(props) == 1:
        key = next(iter(props))
        if isinstance(props[key], dict) and props[key].get("type") == "object":
            return key
    return None


def mutations(body: Any, schemas: list[Any]) -> Iterator[tuple[str, bytes]]:
    yield from RAW
    schema = schemas[0] if schemas else {}
    base = copy.deepcopy(body) if isinstance(body, (dict, list)) else {}
    wrapper = _wrapper(base, schema)
    if isinstance(base, dict):
        yield "an extra attribute nested 40 deep", json.dumps({**base, "drill_deep": deep(40)}).encode()
    if wrapper is not None:
        inner = base.setdefault(wrapper, {}) if isinstance(base, dict) else {}
        deeper = copy.deepcopy(base)
        deeper[wrapper] = {**inner, "extra": deep(300)}
        yield f"{wrapper}.extra nested 300 deep", json.dumps(deeper).encode()
    fields: list[tuple[str, ...]] = []
    if isinstance(base, dict):
        fields += [(k,) for k in {**_properties(schema), **base} if k != wrapper]
        if wrapper is not None:
            inner_schema = _properties(schema).get(wrapper, {})
            fields += [(wrapper, k) for k in {**_properties(inner_schema), **base.get(wrapper, {})}]
    elif isinstance(base, list) and base and isinstance(base[0], dict):  # a JSON patch
        fields += [(0, k) for k in base[0]]
    for path in fields:
        for label, value in BAD_VALUES:
            changed = copy.deepcopy(base)
            target = changed
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            yield f"{'.'.join(map(str, path))} = {label}", json.dumps(changed).encode()


def sweep_endpoint(world: World, endpoint: Endpoint, method: str, version: sqlite3.Connection,
                   schemas: Schemas, problems: list[str]) -> int:
    sent = 0
    given = examples(world.ids).get((endpoint.service, endpoint.name, method)) or [None]
    for example in given:
        headers = dict(headers_for(endpoint))
        content_type = "application/json"
        body: Any = {}
        if example is not None:
            headers.update(example.headers)
            content_type = example.content_type
            body = example.body
        if isinstance(body, bytes):
            continue  # a data upload: not JSON
        if content_type != "application/json" and not content_type.endswith("json-patch"):
            continue
        schemas.seen.clear()
        world.request(method, url(world.ids, endpoint), world.admin, body=json.dumps(body).encode(),
                      headers=headers, content_type=content_type)
        captured = list(schemas.seen)
        for label, payload in mutations(body, captured):
            # a fresh unique name each time, so a create refused as a duplicate never hides the
            # field under test from the store
            payload = UNIQUE.sub(lambda _: f"drill-{uuid.uuid4().hex[:8]}".encode(), payload)
            before = version.execute("PRAGMA data_version").fetchone()[0]
            resp = world.request(method, url(world.ids, endpoint), world.admin, body=payload,
                                 headers=headers, content_type=content_type)
            sent += 1
            where = f"{method} {endpoint.service}:{endpoint.name}" + (
                f" {example.action}" if example and example.action else "")
            if resp.status_code >= 500 and resp.status_code != 501:
                problems.append(f"{where} with {label}: {resp.status_code} {resp.text[:160]}")
            elif (resp.status_code >= 400 and (endpoint.service, endpoint.name) not in COMMITS_WHEN_REFUSED
                  and version.execute("PRAGMA data_version").fetchone()[0] != before):
                problems.append(f"{where} with {label}: {resp.status_code}, yet something was committed")
    return sent


def read_everything(world: World, service: str, problems: list[str]) -> int:
    """Every GET endpoint of ``service`` as the admin and the member: none may answer a 5xx."""
    read = 0
    for endpoint in world.app.registry.endpoints(service):
        if "GET" not in endpoint.methods:
            continue
        for token in (world.admin, world.token("member", renew=True)):
            resp = world.request("GET", url(world.ids, endpoint), token, headers=headers_for(endpoint))
            read += 1
            if resp.status_code >= 500 and resp.status_code != 501:
                problems.append(f"GET {endpoint.service}:{endpoint.name} after the sweep: {resp.status_code} "
                                f"{resp.text[:300]}")
    return read


class _NoVersion:
    """PostgreSQL: no cheap "did anything commit" counter; only statuses are checked there."""

    def execute(self, _sql: str) -> "_NoVersion":
        return self

    def fetchone(self) -> tuple[int]:
        return (0,)

    def close(self) -> None:
        pass


def _exports_worker(world: World) -> OpsRuntime:
    """A worker for volume exports only: a request waits for its export, nothing else runs."""
    volume = build_volume(world.compute)
    return OpsRuntime(world.compute.store, world.settings, backends=world.compute.backends,
                      setups=[lambda runtime: runtime.registry.register(
                          exports.EXPORT, exports.ExportHandlers(volume.volume_driver).export, family="volume")])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("service", sorted(MOUNTS))
def test_depth_and_type_sweep(request: pytest.FixtureRequest, service: str, backend: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    world: World = request.getfixturevalue("world" if backend == "sqlite" else "pg_world")
    schemas = Schemas(monkeypatch)
    version: Any = sqlite3.connect(world.data_dir / "overcast.db") if backend == "sqlite" else _NoVersion()
    problems: list[str] = []
    sent = 0
    runtime = _exports_worker(world).start(reconcile=False) if service == "volume" else None
    try:
        for endpoint in world.app.registry.endpoints(service):
            for method in sorted(m for m in endpoint.methods if m in BODY_METHODS):
                sent += sweep_endpoint(world, endpoint, method, version, schemas, problems)
        read = read_everything(world, service, problems)
    finally:
        version.close()
        if runtime is not None:
            runtime.stop()
    print(f"\n{service} on {backend}: {sent} bad bodies sent, {read} reads after")
    assert not problems, f"{len(problems)} wrong answers:\n" + "\n".join(problems[:80])
