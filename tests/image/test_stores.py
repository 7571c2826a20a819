"""The ImageStore conformance suite: every store (filesystem, S3 on moto) keeps the same contract."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from overcast.config import load_settings
from overcast.core.image.stores import (DataNotFound, FilesystemStore, ImageStore, S3Store, SizeLimitExceeded,
                                        from_settings)

moto = pytest.importorskip("moto")


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path, monkeypatch) -> Iterator[ImageStore]:  # noqa: ANN001
    if request.param == "file":
        yield FilesystemStore(tmp_path / "images")
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        yield S3Store("overcast-images", create_bucket=True, part_size=5 * 1024 * 1024)


def _chunks(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_put_get_size_delete(store):
    data = bytes(range(256)) * 45000  # ~11 MiB: several S3 parts
    written = store.put("img-1", _chunks(data))
    assert written.size == len(data)
    assert written.checksum == hashlib.md5(data).hexdigest()
    assert written.os_hash_algo == "sha512" and written.os_hash_value == hashlib.sha512(data).hexdigest()
    assert written.location.startswith(f"{store.id}://")
    assert store.size("img-1") == len(data) and store.exists("img-1")
    assert b"".join(store.get("img-1")) == data
    assert b"".join(store.get("img-1", 1000, 5000)) == data[1000:6000]
    assert b"".join(store.get("img-1", len(data) - 10)) == data[-10:]
    assert store.delete("img-1") is True
    assert store.delete("img-1") is False
    assert not store.exists("img-1")


def test_empty_and_replace(store):
    assert store.put("img-2", iter([])).size == 0
    assert b"".join(store.get("img-2")) == b""
    store.put("img-2", iter([b"new"]))
    assert b"".join(store.get("img-2")) == b"new"


def test_missing_raises_data_not_found(store):
    with pytest.raises(DataNotFound):
        store.size("nope")
    with pytest.raises(DataNotFound):
        b"".join(store.get("nope"))


def test_size_limit_keeps_nothing(store):
    with pytest.raises(SizeLimitExceeded):
        store.put("img-3", iter([b"x" * 100, b"y" * 100]), max_size=150)
    assert not store.exists("img-3")


def test_failing_source_keeps_nothing_and_old_data_survives(store):
    store.put("img-4", iter([b"old"]))

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("client went away")

    with pytest.raises(OSError):
        store.put("img-4", broken())
    assert b"".join(store.get("img-4")) == b"old"


def test_from_settings(tmp_path):
    settings = load_settings(data_dir=tmp_path, environ={})
    assert isinstance(from_settings(settings), FilesystemStore)
    with pytest.raises(ValueError):
        from_settings(load_settings(data_dir=tmp_path, environ={}, image={"store": "s3"}))
    with pytest.raises(ValueError):
        from_settings(load_settings(data_dir=tmp_path, environ={}, image={"store": "tape"}))
    env = {"OVERCAST_IMAGE_STORE": "s3", "OVERCAST_IMAGE_S3_BUCKET": "b", "S3_SECRET": "shh",
           "OVERCAST_IMAGE_S3_SECRET_ACCESS_KEY": "env:S3_SECRET"}
    settings = load_settings(data_dir=tmp_path, environ=env)
    assert settings.image.s3_secret_access_key.reveal() == "shh" and "shh" not in repr(settings)
