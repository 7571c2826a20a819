"""Fixtures for the image service's in-process tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from overcast.store.models import Project
from overcast.testing.web import FileServer


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


@pytest.fixture
def web() -> Iterator[FileServer]:
    """A loopback HTTP server: ``web.files`` maps a path to the bytes served there (404 elsewhere)."""
    with FileServer() as server:
        yield server


@pytest.fixture
def allow_any_port(cloud, monkeypatch):  # noqa: ANN001, ANN201
    """``allow_any_port()`` lets web-download and import tasks fetch from any port of the loopback
    address (``web``'s too): both must be allowed explicitly (Glance's filtering, and Overcast's
    refusal of addresses that are not globally routable)."""
    def allow() -> None:
        settings = cloud.app.images.settings
        monkeypatch.setattr(cloud.app.images, "settings", settings.replace(
            image=type(settings.image)(web_download_ports="*", web_download_hosts="127.0.0.1")))
    return allow
