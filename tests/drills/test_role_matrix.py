"""The role matrix (issue 16 §6): every write endpoint of every service, generated from the
endpoint registry, called as a project reader, a project member, the admin of another project and
a system reader, against the status upstream's default policy gives.

The oracle is :data:`catalog.ORACLE`, written from the upstream policy files (Keystone, Nova,
Glance, Cinder, Neutron with their 2023.2+ defaults and ``enforce_scope`` off, as DevStack runs):
it is not derived from Overcast's own rules. A write endpoint the oracle does not know fails the
test, so a new endpoint is covered as soon as it is declared.

For each call, the personas the rule refuses go first (so the resource is still there), then those
it allows. A refused persona must never succeed; when an allowed persona succeeded with the same
body (so the body was good), a refused one must get 403, or 404 where the service hides what the
caller may not see. An allowed persona must never get 403.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from catalog import ALLOWED, GONE, ORACLE, REFUSED_WITH, WRITE_METHODS, Example, examples, headers_for, rule_for, url
from overcast.api.routing import MOUNTS, Endpoint
from overcast.app import build_operations
from world import PERSONAS, World

REFUSALS = (403, 404)


@dataclasses.dataclass
class Call:
    endpoint: Endpoint
    method: str
    example: Example | None
    rule: str | None

    @property
    def label(self) -> str:
        action = f" {self.example.action}" if self.example and self.example.action else ""
        return f"{self.method} {self.endpoint.service}:{self.endpoint.name}{action}"


def plan(world: World, service: str) -> list[Call]:
    bodies = examples(world.ids)
    calls: list[Call] = []
    for endpoint in world.app.registry.endpoints(service):
        for method in sorted(m for m in endpoint.methods if m in WRITE_METHODS):
            given = bodies.get((service, endpoint.name, method)) or [None]
            for example in given:
                action = example.action if example else None
                calls.append(Call(endpoint, method, example, rule_for(endpoint, method, action)))
    # deletes last, the deepest paths (sub-resources) before their parents
    return sorted(calls, key=lambda c: (c.method == "DELETE", -c.endpoint.template.count("/")
                                        if c.method == "DELETE" else 0))


def call_as(world: World, call: Call, persona: str) -> int:
    endpoint, example = call.endpoint, call.example
    headers = dict(headers_for(endpoint))
    body: bytes | None = None
    content_type = "application/json"
    if example is not None:
        headers.update(example.headers)
        content_type = example.content_type
        if isinstance(example.body, bytes):
            body = example.body
        elif example.body is not None:
            import json
            body = json.dumps(example.body).encode()
    elif call.method in ("POST", "PUT", "PATCH"):
        body = b"{}"
    if endpoint.name == "v3_auth_tokens" and call.method == "DELETE":
        headers["X-Subject-Token"] = world.fresh(persona)  # one's own token
    if endpoint.name == "v2_token":
        world.ids["token"] = world.fresh("member")
    for renew in (False, True):
        resp = world.request(call.method, url(world.ids, endpoint), world.token(persona, renew), body=body,
                             headers=headers, content_type=content_type)
        if resp.status_code != 401 or renew or endpoint.name in ("v3_auth_tokens", "v2_tokens"):
            break
        # a change revoked the persona's tokens (Keystone does when a role assignment goes)
    return resp.status_code


@pytest.mark.parametrize("service", sorted(MOUNTS))
def test_role_matrix(world: World, service: str) -> None:
    calls = plan(world, service)
    unknown = sorted({c.label for c in calls if c.rule is None})
    assert not unknown, ("write endpoints without an upstream default policy in tests/drills/catalog.py "
                         "ORACLE:\n" + "\n".join(unknown))
    problems: list[str] = []
    conclusive = 0
    # Cinder's exports (os-initialize_connection, attachment updates) answer once a worker has run them
    runtime = build_operations(world.compute).start(reconcile=False) if service == "volume" else None
    try:
        conclusive = _judge(world, service, calls, problems)
    finally:
        if runtime is not None:
            runtime.stop()
    print(f"\n{service}: {len(calls)} write calls x {len(PERSONAS)} personas; "
          f"{conclusive} with a body an allowed persona got through")
    assert not problems, f"{len(problems)} wrong answers:\n" + "\n".join(problems)


def _judge(world: World, service: str, calls: list[Call], problems: list[str]) -> int:
    conclusive = 0
    for call in calls:
        allowed = ALLOWED[call.rule]
        statuses: dict[str, int] = {}
        # refused first, then the other project's admin (an admin's lock binds the owner), then the owner
        for persona in sorted(PERSONAS, key=lambda p: (p in allowed, p == "member")):
            statuses[persona] = call_as(world, call, persona)
        for persona, status in statuses.items():
            if status >= 500 and status != 501:  # 501: the driver cannot, as upstream's would say
                problems.append(f"{call.label} as {persona}: {status}")
            elif persona in allowed and status == 403:
                problems.append(f"{call.label} as {persona}: 403, but upstream's rule '{call.rule}' allows it")
            elif persona not in allowed and status < 300:
                problems.append(f"{call.label} as {persona}: {status}, but upstream's rule '{call.rule}' "
                                f"refuses it")
        body_was_good = any(statuses[p] < 300 for p in allowed)
        if body_was_good and call.rule != GONE:
            conclusive += 1
            for persona, status in statuses.items():
                expected = REFUSED_WITH.get((service, call.endpoint.name, call.method, persona))
                if expected is not None:
                    if status != expected:
                        problems.append(f"{call.label} as {persona}: {status} where upstream answers {expected}")
                elif persona not in allowed and status < 500 and status not in REFUSALS:
                    problems.append(f"{call.label} as {persona}: {status} where upstream refuses with 403")
    return conclusive


def _server_actions() -> set[str]:
    """The actions ``POST /servers/{id}/action`` serves: its handler methods (``_os_getVNCConsole``
    serves ``os-getVNCConsole``) and the simple ones, read from the API module itself."""
    from overcast.api.compute import actions

    handlers = {name for name, fn in vars(actions.ServerAction).items()
                if name.startswith("_") and not name.startswith("__") and callable(fn)
                and list(inspect.signature(fn).parameters)[1:] == ["req", "resp", "session", "server", "name", "body"]}
    return handlers | {"_" + name.replace("-", "_") for name in actions.SIMPLE}


def test_every_action_has_an_upstream_rule() -> None:
    """Actions are chosen by the body, not the URL: the registry cannot list them, the API's
    dispatch tables can. Each must have a rule in the oracle (so the matrix covers it)."""
    from overcast.api.volume import snapshots, volumes

    known = {key[3] for key in ORACLE if len(key) == 4}
    by_handler = {"_" + action.replace("-", "_"): action for action in known}
    missing = sorted(h for h in _server_actions() if h not in by_handler and h != "_simple")
    missing += sorted(f"volume {a}" for a in volumes.ACTIONS if ("volume", "volume_action", "POST", a) not in ORACLE)
    missing += sorted(f"snapshot {a}" for a in snapshots.ACTIONS
                      if ("volume", "snapshot_action", "POST", a) not in ORACLE)
    assert not missing, f"actions without an upstream rule in tests/drills/catalog.py ORACLE: {missing}"
