"""openstacksdk against a live ``overcast serve``: image create/upload/download/update/delete, and the
data path in constant memory (a 256 MiB image generated on the fly, streamed up chunked and back)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psutil
import pytest
import requests

from overcast.testing.data import MIB, generated

pytestmark = pytest.mark.live


def test_sdk_create_upload_download_update_delete(demo_conn, unique, tmp_path: Path):  # noqa: ANN001
    data = os.urandom(2 * MIB + 5)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    image = demo_conn.image.create_image(name=unique("sdk"), filename=str(path), disk_format="raw",
                                         container_format="bare", wait=True)
    image = demo_conn.image.get_image(image.id)  # the SDK returns the record as created, before the upload
    assert image.status == "active" and image.checksum == hashlib.md5(data).hexdigest()
    assert image.hash_algo == "sha512" and image.hash_value == hashlib.sha512(data).hexdigest()
    got = demo_conn.image.download_image(image)
    assert got.content == data
    out = tmp_path / "out.raw"
    demo_conn.image.download_image(image, output=str(out), stream=True)
    assert out.read_bytes() == data
    new_name = image.name + "-x"
    updated = demo_conn.image.update_image(image, name=new_name, os_distro="ubuntu", min_ram=256)
    assert updated.name == new_name and updated.min_ram == 256
    assert updated.os_distro == "ubuntu"
    demo_conn.image.add_tag(image, "red")
    assert demo_conn.image.get_image(image).tags == ["red"]
    from openstack import exceptions
    again = demo_conn.image.put(f"/images/{image.id}/file", data=b"again",
                                headers={"Content-Type": "application/octet-stream"})
    with pytest.raises(exceptions.ConflictException) as conflict:
        exceptions.raise_from_response(again)
    assert "active to saving" in str(conflict.value)
    demo_conn.image.delete_image(image)
    with pytest.raises(exceptions.NotFoundException) as missing:
        demo_conn.image.get_image(image.id)
    assert "No image found" in str(missing.value)


def _worker(live_server) -> psutil.Process:  # noqa: ANN001
    """The process that serves requests (granian's worker, a child of ``overcast serve``)."""
    main = psutil.Process(live_server.process.pid)
    return (main.children(recursive=True) or [main])[-1]


def _hwm(proc: psutil.Process) -> int:
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_large_upload_download_constant_memory(demo_conn, live_server, unique):  # noqa: ANN001
    size = 256 * MIB
    endpoint = demo_conn.image.get_endpoint().rstrip("/")
    if not endpoint.endswith("/v2"):
        endpoint += "/v2"
    headers = {"X-Auth-Token": demo_conn.session.get_token()}
    image = demo_conn.image.create_image(name=unique("big"), disk_format="raw", container_format="bare",
                                         allow_duplicates=True)
    worker = _worker(live_server)
    before = worker.memory_info().rss
    expected = hashlib.md5()
    for piece in generated(size):
        expected.update(piece)
    # a generator body: requests sends it with chunked transfer encoding, no Content-Length
    resp = requests.put(f"{endpoint}/images/{image.id}/file", data=generated(size), timeout=300,
                        headers={**headers, "Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    shown = demo_conn.image.get_image(image.id)
    assert shown.size == size and shown.checksum == expected.hexdigest()
    got = hashlib.md5()
    with requests.get(f"{endpoint}/images/{image.id}/file", headers=headers, stream=True, timeout=300) as down:
        assert down.status_code == 200 and int(down.headers["Content-Length"]) == size
        for piece in down.iter_content(MIB):
            got.update(piece)
    assert got.hexdigest() == expected.hexdigest()
    growth = _hwm(worker) - before
    print(f"server peak RSS growth for {size // MIB} MiB up+down: {growth / MIB:.1f} MiB")
    assert growth < 64 * MIB, f"server RSS grew {growth / MIB:.0f} MiB for a {size // MIB} MiB image"
    demo_conn.image.delete_image(image)
