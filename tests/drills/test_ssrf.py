"""Server-side requests go only where the operator allows (issue 16 §9; decision 0030): Glance's
web-download import and the import task filter their URL as Glance's ``[import_filtering_opts]``
do, with Glance's defaults, refuse addresses that are not globally routable unless named, and
check again after DNS resolution and on every redirect."""

from __future__ import annotations

import time

import pytest

from overcast.config import ImageSettings
from overcast.core.image.web import ImportFilter, Refused
from overcast.testing.web import FileServer

DATA = b"\x00drill-image" * 100


def _filter(**settings: str) -> ImportFilter:
    return ImportFilter(ImageSettings(**settings))


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/x", "http://127.1/x", "http://[::1]/x", "http://10.1.2.3/x", "http://192.168.0.1/x",
    "http://172.16.5.4/x", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/x",
    "http://0.0.0.0/x", "http://[::ffff:127.0.0.1]/x", "http://[fd00::1]/x", "http://[fe80::1]/x",
    "http://224.0.0.1/x", "file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/x",
    "http://example.com:8080/x", "http://example.com:22/x", "http:///x", "//example.com/x",
])
def test_glance_defaults_refuse(uri: str) -> None:
    """(``127.1`` is a name to the URL parser; it resolves to 127.0.0.1.)"""
    with pytest.raises(Refused):
        _filter().check_resolved(uri)


@pytest.mark.parametrize("uri", ["http://example.com/x", "https://example.com/x", "http://93.184.215.14:80/x",
                                 "https://[2606:4700::6810:84e5]/x"])
def test_glance_defaults_allow(uri: str) -> None:
    _filter().check(uri)


def test_allow_and_deny_lists() -> None:
    assert _filter(web_download_hosts="127.0.0.1", web_download_ports="*").check("http://127.0.0.1:9/x")
    lab = _filter(web_download_hosts="mirror.lab,10.0.0.0/8")
    lab.check("http://mirror.lab/x")
    lab.check("http://10.9.8.7/x")
    with pytest.raises(Refused):
        lab.check("http://example.com/x")  # an allow list, when set, is the only way in
    deny = _filter(web_download_disallowed_hosts="example.com,93.184.215.0/24")
    for uri in ("http://example.com/x", "http://93.184.215.14/x"):
        with pytest.raises(Refused):
            deny.check(uri)
    with pytest.raises(Refused):
        _filter(web_download_ports="", web_download_disallowed_ports="80").check("http://example.com/x")
    with pytest.raises(Refused):
        _filter(web_download_schemes="https").check("http://example.com/x")


def test_a_name_is_checked_by_what_it_resolves_to() -> None:
    """``localhost`` is not on any list, but it is loopback once resolved."""
    anywhere = _filter(web_download_ports="*")
    anywhere.check("http://localhost:8000/x")  # the name alone passes
    with pytest.raises(Refused):
        anywhere.resolve("http://localhost:8000/x", "localhost", 8000)
    with pytest.raises(Refused):
        anywhere.check_resolved("http://localhost:8000/x")
    named = _filter(web_download_ports="*", web_download_hosts="localhost")
    assert named.resolve("http://localhost:8000/x", "localhost", 8000)  # named by the operator: allowed


def _image(cloud, token: str) -> str:  # noqa: ANN001
    resp = cloud.request("POST", "/image/v2/images", token, json={"disk_format": "raw", "container_format": "bare"})
    assert resp.status_code == 201, resp.text
    return resp.json["id"]


def _status(cloud, token: str, image_id: str, wanted: str) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        image = cloud.request("GET", f"/image/v2/images/{image_id}", token).json
        if image["status"] == wanted and (wanted != "queued" or "os_glance_failed_import" in image):
            return image
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} never became {wanted}: {image}")


def _allow(cloud, monkeypatch, **image: str) -> None:  # noqa: ANN001
    settings = cloud.app.images.settings
    monkeypatch.setattr(cloud.app.images, "settings", settings.replace(image=ImageSettings(**image)))


def _import(cloud, token: str, image_id: str, uri: str):  # noqa: ANN001, ANN202
    return cloud.request("POST", f"/image/v2/images/{image_id}/import", token,
                         json={"method": {"name": "web-download", "uri": uri}})


def test_web_download_refuses_loopback_even_on_an_allowed_port(cloud, demo_token, monkeypatch) -> None:  # noqa: ANN001
    with FileServer({"/disk": DATA}) as web:
        _allow(cloud, monkeypatch, web_download_ports=f"80,443,{web.port}")
        image = _image(cloud, demo_token)
        for uri in (f"{web.url}/disk", f"http://localhost:{web.port}/disk"):
            refused = _import(cloud, demo_token, image, uri)
            assert refused.status_code == 400, refused.text
            assert "does not pass filtering" in refused.json["message"]
        assert cloud.request("GET", f"/image/v2/images/{image}", demo_token).json["status"] == "queued"
        _allow(cloud, monkeypatch, web_download_ports=f"80,443,{web.port}", web_download_hosts="127.0.0.1")
        assert _import(cloud, demo_token, image, f"{web.url}/disk").status_code == 202
        assert _status(cloud, demo_token, image, "active")["size"] == len(DATA)


def test_a_redirect_is_filtered_like_the_first_url(cloud, demo_token, monkeypatch) -> None:  # noqa: ANN001
    """The allowed server answers 302 to a place the filter refuses: the import fails, nothing is fetched."""
    with FileServer({"/secret": b"operator's secret"}) as inside, FileServer() as mirror:
        mirror.redirects["/disk"] = f"http://127.0.0.2:{inside.port}/secret"
        _allow(cloud, monkeypatch, web_download_ports="*", web_download_hosts="127.0.0.1/32")
        image = _image(cloud, demo_token)
        assert _import(cloud, demo_token, image, f"{mirror.url}/disk").status_code == 202
        failed = _status(cloud, demo_token, image, "queued")
        assert failed["os_glance_failed_import"] == "file" and failed.get("size") in (None, 0)
        mirror.redirects["/disk"] = f"{inside.url}/secret"  # the same host: allowed, and followed
        again = _image(cloud, demo_token)
        assert _import(cloud, demo_token, again, f"{mirror.url}/disk").status_code == 202
        assert _status(cloud, demo_token, again, "active")["size"] == len(b"operator's secret")


def test_the_import_task_is_filtered_too(cloud, admin_token, monkeypatch) -> None:  # noqa: ANN001
    with FileServer({"/disk": DATA}) as web:
        _allow(cloud, monkeypatch, web_download_ports="*")
        body = {"type": "import", "input": {"import_from": f"http://localhost:{web.port}/disk",
                                            "import_from_format": "raw",
                                            "image_properties": {"disk_format": "raw", "container_format": "bare"}}}
        refused = cloud.request("POST", "/image/v2/tasks", admin_token, json=body)
        assert refused.status_code == 400 and "does not pass filtering" in refused.text
