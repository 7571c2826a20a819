"""Fixtures for the image service's in-process tests."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from overcast.store.models import Project


@pytest.fixture
def alt_token(cloud) -> str:  # noqa: ANN001
    return cloud.token("alt_demo", "alt_demo")


@pytest.fixture
def projects(cloud) -> dict[str, str]:  # noqa: ANN001
    with cloud.app.images.store.session() as session:
        return {p.name: p.id for p in session.scalars(select(Project))}


@pytest.fixture
def api(cloud):  # noqa: ANN001, ANN201
    """``api(method, path, token, **kw)`` against ``/image/v2``; ``json=`` keeps a given Content-Type."""
    def call(method: str, path: str, token: str | None = None, **kw):  # noqa: ANN003, ANN202
        if "json" in kw and "Content-Type" in (kw.get("headers") or {}):
            kw["body"] = json.dumps(kw.pop("json"))
        return cloud.request(method, "/image/v2" + path, token, **kw)
    return call
