"""A small Poppy client over the in-process app, and waiting for the operations engine."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from overcast.ops.engine import wait_for
from overcast.ops.models import TERMINAL_STATES, Operation

BASE = "/cdn/v1.0"


def service_body(name: str = "mysite", domain: str = "www.mysite.com", origin: str = "origin.mysite.com",
                 flavor: str = "mock", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "flavor_id": flavor, "domains": [{"domain": domain}],
                            "origins": [{"origin": origin, "port": 80, "ssl": False}]}
    body.update(extra)
    return body


class Poppy:
    """``poppy("GET", "/services", token)`` -> (status, body, headers)."""

    def __init__(self, cloud: Any, token: str):
        self.cloud = cloud
        self.token = token

    def __call__(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                 raw: bytes | str | None = None, headers: dict[str, str] | None = None,
                 params: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"params": params} if params else {}
        hdrs = dict(headers or {})
        if raw is not None:
            kwargs["body"] = raw
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        resp = self.cloud.request(method, BASE + path, token or self.token, headers=hdrs, **kwargs)
        text = resp.text
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return resp.status_code, parsed, resp.headers

    def create(self, body: dict[str, Any], *, settle: bool = True) -> str:
        status, out, headers = self("POST", "/services", body)
        assert status == 202, out
        service_id = headers["location"].rsplit("/", 1)[1]
        if settle:
            self.settle(service_id)
        return service_id

    def get(self, service_id: str) -> dict[str, Any]:
        status, out, _ = self("GET", f"/services/{service_id}")
        assert status == 200, out
        return out

    def settle(self, resource_id: str, timeout: float = 30.0) -> list[Operation]:
        """Wait until every operation on the resource is finished; returns them, oldest first."""
        store = self.cloud.app.cdn.store
        while True:
            with store.session() as session:
                ops = list(session.scalars(select(Operation).where(Operation.resource_id == resource_id)
                                           .order_by(Operation.created_at)))
                session.expunge_all()
            unfinished = [op for op in ops if op.state not in TERMINAL_STATES]
            if not unfinished:
                return ops
            for op in unfinished:
                wait_for(store, op.id, timeout)
