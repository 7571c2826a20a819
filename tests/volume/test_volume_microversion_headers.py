"""How Cinder reads ``OpenStack-API-Version``: the first entry that contains ``volume`` names the
version (``volumev3 3.27`` is 3.27, as keystoneauth users with a ``volumev3`` catalog entry send it);
a header without such an entry is Cinder's 404 (decision 0019)."""

from __future__ import annotations

import pytest


def _get(cinder, header: str):  # noqa: ANN001, ANN202
    return cinder.req("GET", "/volumes", headers={"OpenStack-API-Version": header})


@pytest.mark.parametrize("header,echoed", [
    ("volume 3.27", "volume 3.27"),
    ("volumev3 3.27", "volume 3.27"),
    ("volumev3 latest", "volume 3.71"),
    ("compute 2.60, volume 3.44", "volume 3.44"),
    ("volume 3.10, volume 3.20", "volume 3.10"),     # Cinder stops at the first entry
])
def test_the_first_entry_naming_volume_counts(cinder, header, echoed):
    resp = _get(cinder, header)
    assert resp.status_code == 200, resp.text
    assert resp.headers["OpenStack-API-Version"] == echoed


def test_volumev3_header_reaches_the_attachments_api(cinder):
    vol = cinder.create()
    resp = cinder.req("POST", "/attachments", headers={"OpenStack-API-Version": "volumev3 3.27"},
                      json={"attachment": {"volume_uuid": vol["id"]}})
    assert resp.status_code == 200, resp.text
    assert resp.json["attachment"]["status"] == "reserved"


@pytest.mark.parametrize("header", ["compute 2.1", "block-storage 3.27"])
def test_a_header_without_a_volume_entry_is_cinders_404(cinder, header):
    resp = _get(cinder, header)
    assert resp.status_code == 404
    assert resp.json == {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}


@pytest.mark.parametrize("header,status", [("volume 3.72", 406), ("volume 3.x", 400), ("volume 3.27 3.28", 400)])
def test_bad_versions(cinder, header, status):
    assert _get(cinder, header).status_code == status
