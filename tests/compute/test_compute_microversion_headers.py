"""How Nova reads its version headers (microversion_parse): the last ``OpenStack-API-Version`` entry whose
first word is ``compute`` (any case) wins, the rest of that entry is the version; the legacy
``X-OpenStack-Nova-API-Version`` counts only when no entry names compute, its last value then."""

from __future__ import annotations

import pytest


def _get(nova, headers: dict[str, str]):  # noqa: ANN001, ANN202
    return nova.req("GET", "/flavors", headers=headers)


@pytest.mark.parametrize("headers,version", [
    ({"OpenStack-API-Version": "compute 2.50"}, "2.50"),
    ({"OpenStack-API-Version": "COMPUTE 2.5"}, "2.5"),
    ({"OpenStack-API-Version": "volume 3.27, compute 2.60"}, "2.60"),
    ({"OpenStack-API-Version": "compute 2.10, compute 2.20"}, "2.20"),
    ({"OpenStack-API-Version": "placement 1.10"}, "2.1"),
    ({"X-OpenStack-Nova-API-Version": "2.30"}, "2.30"),
    ({"X-OpenStack-Nova-API-Version": "2.3, 2.4"}, "2.4"),
    ({"OpenStack-API-Version": "compute 2.40", "X-OpenStack-Nova-API-Version": "2.30"}, "2.40"),
    ({"OpenStack-API-Version": "volume 3.0", "X-OpenStack-Nova-API-Version": "2.30"}, "2.30"),
])
def test_the_version_nova_reads(nova, headers, version):
    resp = _get(nova, headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["OpenStack-API-Version"] == f"compute {version}"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == version


@pytest.mark.parametrize("header,status,message", [
    ("compute 2.1 2.2", 400, "API Version String 2.1 2.2 is of invalid format. Must be of format MajorNum.MinorNum."),
    ("compute 2.01", 400, "API Version String 2.01 is of invalid format. Must be of format MajorNum.MinorNum."),
    ("compute 3.0", 406, "Version 3.0 is not supported by the API. Minimum is 2.1 and maximum is 2.100."),
])
def test_bad_versions(nova, header, status, message):
    resp = _get(nova, {"OpenStack-API-Version": header})
    assert resp.status_code == status
    assert next(iter(resp.json.values()))["message"] == message
