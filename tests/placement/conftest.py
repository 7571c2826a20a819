"""Placement tests in process: ``placement(method, path, version=None, token=admin)``."""

from __future__ import annotations

import pytest


class Placement:
    def __init__(self, cloud, token: str):  # noqa: ANN001
        self.cloud, self.token = cloud, token

    def __call__(self, method: str, path: str, version: str | None = None, token: str | None = None, **kw):  # noqa: ANN201
        headers = dict(kw.pop("headers", {}) or {})
        if version:
            headers["OpenStack-API-Version"] = f"placement {version}"
        return self.cloud.request(method, "/placement" + path, token or self.token, headers=headers, **kw)


@pytest.fixture
def placement(cloud, admin_token) -> Placement:  # noqa: ANN001
    return Placement(cloud, admin_token)
