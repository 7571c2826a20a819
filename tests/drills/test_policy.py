"""Least privilege (issue 16 §6) and policy declared in one place per service, loaded by the app
factory (issue 10 §4; decision 0028)."""

from __future__ import annotations

import importlib
import pathlib
import re

import falcon.testing
import pytest

from overcast.app import create_app
from overcast.core import policy
from overcast.core.identity import build_identity
from world import World

SOURCE = pathlib.Path(__file__).resolve().parents[2] / "overcast"


def test_a_reader_cannot_delete_or_change_images(world: World) -> None:
    """The issue's case: ``reader`` on the project got 204 from both DELETEs."""
    image, reader, member = world.ids["image"], world.token("reader"), world.token("member")
    old = {"OpenStack-API-Version": "compute 2.1"}
    for method, path, headers, body in (
            ("DELETE", f"/image/v2/images/{image}", {}, None),
            ("DELETE", f"/compute/v2.1/images/{image}", old, None),
            ("PUT", f"/compute/v2.1/images/{image}/metadata/drill", old, {"meta": {"drill": "no"}}),
            ("POST", f"/compute/v2.1/images/{image}/metadata", old, {"metadata": {"drill": "no"}}),
            ("POST", f"/image/v2/images/{image}/actions/deactivate", {}, None)):
        resp = world.request(method, path, reader, headers=headers, json_body=body)
        assert resp.status_code == 403, f"{method} {path}: {resp.status_code} {resp.text}"
    shown = world.ok("GET", f"/image/v2/images/{image}", member)
    assert shown["status"] == "active" and shown.get("drill") != "no"
    assert world.request("DELETE", f"/image/v2/images/{image}", member).status_code == 204


def test_no_module_registers_rules_on_import() -> None:
    offenders = [str(path.relative_to(SOURCE.parent)) for path in SOURCE.rglob("*.py")
                 if re.search(r"RULES\.update\(|#\s*registers", path.read_text())]
    assert not offenders, f"rules registered as an import side effect in: {offenders}"


def test_each_service_declares_its_rules_in_one_module() -> None:
    loaded = policy.load()
    for service in policy.SERVICES:
        declared = importlib.import_module(f"overcast.core.{service}.policies").RULES
        assert declared and all(isinstance(rule, policy.Rule) for rule in declared.values())
        assert all(loaded.rules[name] is rule for name, rule in declared.items())
    assert len(loaded.rules) == sum(len(importlib.import_module(f"overcast.core.{s}.policies").RULES)
                                    for s in policy.SERVICES)


def test_an_action_declared_twice_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    compute = importlib.import_module("overcast.core.compute.policies")
    monkeypatch.setattr(compute, "RULES", {**compute.RULES, "identity:get_region": policy.ADMIN})
    with pytest.raises(ValueError, match="identity:get_region"):
        policy.load()


def test_an_unknown_action_is_a_bug_not_an_allow() -> None:
    with pytest.raises(KeyError):
        policy.load().allowed("identity:no_such_action", None)


def test_each_app_serves_the_rules_its_factory_loaded(settings) -> None:  # noqa: ANN001
    """Two apps, one with an operator's override: each request is judged by its own app's table."""
    identity = build_identity(settings)
    try:
        from overcast.bootstrap import prepare
        from overcast.core.compute import build_compute
        from overcast.core.image import ImageCore

        compute = build_compute(settings, identity)
        images = ImageCore(settings=settings, store=identity.store)
        accounts = {a.username: a.password for a in prepare(identity, compute, images)}
        plain = create_app(settings, identity, compute, images)
        strict = create_app(settings, identity, compute, images)
        strict.policy.rules["identity:list_regions"] = policy.ADMIN
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": accounts["demo"]}}},
            "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
        client = falcon.testing.TestClient(plain)
        token = client.simulate_post("/identity/v3/auth/tokens", json=body).headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token}
        assert client.simulate_get("/identity/v3/regions", headers=headers).status_code == 200
        assert falcon.testing.TestClient(strict).simulate_get("/identity/v3/regions", headers=headers).status_code == 403
        assert client.simulate_get("/identity/v3/regions", headers=headers).status_code == 200
        compute.close()
    finally:
        identity.store.dispose()


def test_one_rule_type() -> None:
    """Only the policy module defines a class called ``Rule`` among the rules of the API and
    the core (a host driver's firewall rule is another thing)."""
    defining = [str(path.relative_to(SOURCE.parent)) for folder in ("api", "core") for path in (SOURCE / folder).rglob("*.py")
                if re.search(r"^class Rule\b", path.read_text(), re.M)]
    assert defining == ["overcast/core/policy.py"]
