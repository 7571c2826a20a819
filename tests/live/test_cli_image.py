"""The unmodified ``openstack`` CLI against a live ``overcast serve``: the Glance v2 image service.

Create with data, list/show, save (bytes identical), set (name, property, tag, protected), share
with another project (add project, member list, accept as that project), delete; faults shown.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from overcast.testing.live import OpenStackCLI

pytestmark = pytest.mark.live


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "disk.raw"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def test_create_save_set_delete(cli: OpenStackCLI, unique, image_file: Path, tmp_path: Path):  # noqa: ANN001
    name = unique("img")
    made = cli("image", "create", "--file", str(image_file), "--disk-format", "raw", "--container-format",
               "bare", "--private", "--property", "os_distro=cirros", "--tag", "blue", name)
    assert made["status"] == "active" and made["visibility"] == "private"
    data = image_file.read_bytes()
    assert made["checksum"] == hashlib.md5(data).hexdigest() and made["size"] == len(data)
    listed = cli("image", "list", "--name", name)
    assert [i["ID"] for i in listed] == [made["id"]]
    shown = cli("image", "show", name)
    assert shown["properties"]["os_distro"] == "cirros" and shown["tags"] == ["blue"]
    saved = tmp_path / "saved.raw"
    cli.run("image", "save", "--file", str(saved), made["id"])
    assert saved.read_bytes() == data
    cli.run("image", "set", "--name", name + "-2", "--property", "hw_rng_model=virtio", "--tag", "green",
            "--protected", made["id"])
    shown = cli("image", "show", made["id"])
    assert shown["name"] == name + "-2" and shown["protected"] is True
    assert shown["properties"]["hw_rng_model"] == "virtio" and set(shown["tags"]) == {"blue", "green"}
    refused = cli.fails("image", "delete", made["id"])
    assert "protected" in (refused.stderr + refused.stdout)
    cli.run("image", "set", "--unprotected", made["id"])
    cli.run("image", "delete", made["id"])
    assert cli("image", "list", "--name", name + "-2") == []


def test_public_needs_admin(cli: OpenStackCLI, admin_cli: OpenStackCLI, unique):  # noqa: ANN001
    error = cli.fails("image", "create", "--public", "--disk-format", "raw", unique("pub"))
    assert "publicize_image" in (error.stderr + error.stdout)
    made = admin_cli("image", "create", "--public", "--disk-format", "raw", "--container-format", "bare",
                     unique("pub"))
    assert made["visibility"] == "public"
    assert cli("image", "show", made["id"])["id"] == made["id"]
    admin_cli.run("image", "delete", made["id"])


def test_share_with_another_project(cli: OpenStackCLI, alt_cli: OpenStackCLI, ids, unique,  # noqa: ANN001
                                    image_file: Path):
    name = unique("shared")
    made = cli("image", "create", "--file", str(image_file), "--disk-format", "raw", "--container-format", "bare",
               "--shared", name)
    alt = ids["project:alt_demo"]
    assert alt_cli.fails("image", "show", made["id"]).returncode != 0
    cli("image", "add", "project", made["id"], alt)
    members = cli("image", "member", "list", made["id"])
    assert [(m["Member ID"], m["Status"]) for m in members] == [(alt, "pending")]
    alt_cli.run("image", "set", "--accept", made["id"])
    assert cli("image", "member", "list", made["id"])[0]["Status"] == "accepted"
    assert made["id"] in [i["ID"] for i in alt_cli("image", "list")]
    cli.run("image", "remove", "project", made["id"], alt)
    cli.run("image", "delete", made["id"])
