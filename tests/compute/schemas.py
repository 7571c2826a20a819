"""Check responses against Tempest's compute response schemas, and seed what compute tests need.

    from schemas import check, seeded
    check(resp, "v2_55.flavors", "list_flavors")
"""

from __future__ import annotations

import importlib
import json

import jsonschema
import pytest

ROOT = "tempest.lib.api_schema.response.compute"


def schema_for(module: str, name: str) -> dict:
    return getattr(importlib.import_module(f"{ROOT}.{module}"), name)


def check(resp, module: str, name: str) -> dict:  # noqa: ANN001
    """Assert ``resp`` has the status and body Tempest's ``module.name`` schema allows; returns the body."""
    schema = schema_for(module, name)
    assert resp.status_code in schema["status_code"], (resp.status_code, resp.text)
    body = json.loads(resp.text) if resp.text else {}
    if "response_body" in schema:
        jsonschema.Draft4Validator(schema["response_body"], format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def headers(version: str | None = None) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"} if version else {}


@pytest.fixture
def seeded(cloud):  # noqa: ANN001, ANN201
    """The cloud with Nova's default flavors, the compute services and the cirros image."""
    from overcast.core.compute.seed import seed
    from overcast.core.image import ImageCore
    from overcast.core.image.seed import seed as seed_image

    seed(cloud.app.compute)
    seed_image(ImageCore(cloud.app.compute.settings, cloud.app.compute.store))
    return cloud


class Api:
    """Versioned compute requests for the tests."""

    def __init__(self, cloud, token: str):  # noqa: ANN001
        self.cloud, self.token = cloud, token

    def __call__(self, method: str, path: str, version: str | None = None, token: str | None = None, **kw):  # noqa: ANN201
        return self.cloud.request(method, "/compute/v2.1" + path, token or self.token,
                                  headers=headers(version), **kw)
