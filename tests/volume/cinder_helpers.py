"""Helpers for the volume tests: Tempest's schema check and a small Cinder client that waits for
conditions (never fixed sleeps). A module of its own so ``from cinder_helpers import ...`` cannot
pick up another directory's conftest."""

from __future__ import annotations

import importlib
import json
import time

ROOT = "tempest.lib.api_schema.response.volume"


class _Resp(dict):
    def __init__(self, status: int, headers: dict):
        super().__init__({k.lower(): v for k, v in headers.items()})
        self.status = status


def check(resp, name: str, module: str = "volumes", version: str | None = None) -> dict:  # noqa: ANN001
    """Validate ``resp`` as Tempest does against schema ``module.name`` (of ``v3_NN`` if given); returns the body."""
    from tempest.lib.common.rest_client import RestClient

    path = f"{ROOT}.{version}.{module}" if version else f"{ROOT}.{module}"
    schema = getattr(importlib.import_module(path), name)
    body = json.loads(resp.text) if resp.text else ""
    RestClient.validate_response(schema, _Resp(resp.status_code, dict(resp.headers)), body)
    return body or {}


class Cinder:
    """Versioned requests under /volume/v3/{project_id}, create-and-wait."""

    def __init__(self, cloud, token: str):  # noqa: ANN001
        self.cloud, self.token = cloud, token
        resp = cloud.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
        self.project_id = resp.json["token"]["project"]["id"]

    def req(self, method: str, path: str, version: str | None = None, token: str | None = None, **kw):  # noqa: ANN201
        headers = dict(kw.pop("headers", {}) or {})
        if version:
            headers["OpenStack-API-Version"] = f"volume {version}"
        return self.cloud.request(method, f"/volume/v3/{self.project_id}{path}", token or self.token,
                                  headers=headers, **kw)

    def create(self, wait: str | None = "available", version: str | None = None, **volume):  # noqa: ANN201
        body = {"size": 1, **volume}
        resp = self.req("POST", "/volumes", version, json={"volume": body})
        assert resp.status_code == 202, resp.text
        if wait:
            return self.wait(resp.json["volume"]["id"], wait)
        return resp.json["volume"]

    def wait(self, volume_id: str, status: str, collection: str = "volumes", timeout: float = 15.0,
             version: str | None = None) -> dict:
        """Poll until the record has ``status`` (or is gone, for ``status="deleted"``)."""
        deadline = time.monotonic() + timeout
        key = collection[:-1]
        last = None
        while time.monotonic() < deadline:
            resp = self.req("GET", f"/{collection}/{volume_id}", version)
            if resp.status_code == 404 and status == "deleted":
                return {}
            last = resp.json.get(key, resp.json)
            if resp.status_code == 200 and last.get("status") == status:
                return last
            time.sleep(0.02)
        raise AssertionError(f"{key} {volume_id} did not reach {status}: {last}")

    def action(self, volume_id: str, body: dict, version: str | None = None, token: str | None = None):  # noqa: ANN201
        return self.req("POST", f"/volumes/{volume_id}/action", version, token, json=body)
