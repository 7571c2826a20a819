"""Where image data lives: a small interface and two implementations.

- :class:`FilesystemStore` (the default): ``<data_dir>/images/<image id>``, the layout the cirros seed
  and Nova's ``createImage`` already write. Uploads go to a hidden temporary file in the same
  directory and are renamed into place, so a reader never sees half an image.
- :class:`S3Store`: one object per image in a bucket, through boto3 (multipart upload, ranged GETs).

Both take the data as an iterator of byte chunks and never hold more than one chunk (or, for S3,
one multipart part) in memory. Both compute Glance's ``checksum`` (MD5) and ``os_hash_value``
(SHA-512) while the bytes go by.
"""

from __future__ import annotations

import abc
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

#: read/write granularity for image data
CHUNK = 64 * 1024
HASH_ALGO = "sha512"


class StoreError(Exception):
    """Base of image store failures."""


class DataNotFound(StoreError):
    """The store has no data for that image."""


class SizeLimitExceeded(StoreError):
    """The data is larger than the caller allowed."""


@dataclass(frozen=True)
class Written:
    """What :meth:`ImageStore.put` stored."""

    size: int
    checksum: str
    os_hash_value: str
    location: str
    os_hash_algo: str = HASH_ALGO


class _Hasher:
    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha = hashlib.new(HASH_ALGO)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha.update(chunk)
        self.size += len(chunk)


def _checked(chunks: Iterable[bytes], hasher: _Hasher, max_size: int | None) -> Iterator[bytes]:
    for chunk in chunks:
        if not chunk:
            continue
        hasher.update(chunk)
        if max_size is not None and hasher.size > max_size:
            raise SizeLimitExceeded(f"Image exceeds the storage quota or size limit of {max_size} bytes.")
        yield chunk


class ImageStore(abc.ABC):
    """One place image data is kept. Implementations are thread-safe and stream everything."""

    #: the store id ``/v2/info/stores`` shows
    id: str = "file"
    description: str = ""

    @abc.abstractmethod
    def put(self, image_id: str, chunks: Iterable[bytes], max_size: int | None = None) -> Written:
        """Store the image's data, replacing any earlier data only once all of it has arrived.

        :raises SizeLimitExceeded: more than ``max_size`` bytes (nothing is kept).
        :raises StoreError: the backend failed (nothing is kept).
        Exceptions raised by ``chunks`` itself propagate, and nothing is kept.
        """

    @abc.abstractmethod
    def get(self, image_id: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The data from ``offset`` (``length`` bytes, or to the end), in chunks.

        :raises DataNotFound: no data for that image.
        """

    @abc.abstractmethod
    def size(self, image_id: str) -> int:
        """:raises DataNotFound:"""

    @abc.abstractmethod
    def delete(self, image_id: str) -> bool:
        """Remove the data; True if there was any. Never raises for missing data."""

    def exists(self, image_id: str) -> bool:
        try:
            self.size(image_id)
        except DataNotFound:
            return False
        return True


class FilesystemStore(ImageStore):
    id = "file"
    description = "Local filesystem under the data directory"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, image_id: str) -> Path:
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise DataNotFound(image_id)
        return self.root / image_id

    def put(self, image_id: str, chunks: Iterable[bytes], max_size: int | None = None) -> Written:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(image_id)
        tmp = self.root / f".{image_id}.{uuid.uuid4().hex}.part"
        hasher = _Hasher()
        try:
            with open(tmp, "wb") as out:
                for chunk in _checked(chunks, hasher, max_size):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Written(hasher.size, hasher.md5.hexdigest(), hasher.sha.hexdigest(), f"file://{path.resolve()}")

    def get(self, image_id: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            handle = open(self.path(image_id), "rb")
        except FileNotFoundError:
            raise DataNotFound(image_id) from None
        return self._read(handle, offset, length)

    @staticmethod
    def _read(handle: Any, offset: int, length: int | None) -> Iterator[bytes]:
        with handle:
            handle.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def size(self, image_id: str) -> int:
        try:
            return self.path(image_id).stat().st_size
        except FileNotFoundError:
            raise DataNotFound(image_id) from None

    def delete(self, image_id: str) -> bool:
        try:
            self.path(image_id).unlink()
            return True
        except (FileNotFoundError, DataNotFound):
            return False


class S3Store(ImageStore):
    """Images as objects ``<prefix><image id>`` in an S3 bucket (AWS, or anything S3-compatible).

    Data goes up as a multipart upload of ``part_size`` parts (S3's minimum is 5 MiB), so memory
    stays at one part whatever the image's size; an upload that fails is aborted.
    """

    id = "s3"
    description = "S3 object storage"

    def __init__(self, bucket: str, *, client: Any = None, prefix: str = "images/", part_size: int = 8 * 1024 * 1024,
                 create_bucket: bool = False, **client_kwargs: Any):
        if client is None:
            import boto3

            client = boto3.client("s3", **client_kwargs)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = max(part_size, 5 * 1024 * 1024)
        if create_bucket:
            from botocore.exceptions import ClientError

            try:
                self.client.head_bucket(Bucket=bucket)
            except ClientError:
                region = self.client.meta.region_name
                where = {} if region in (None, "us-east-1") else {
                    "CreateBucketConfiguration": {"LocationConstraint": region}}
                self.client.create_bucket(Bucket=bucket, **where)

    def key(self, image_id: str) -> str:
        return f"{self.prefix}{image_id}"

    def _error(self, exc: Exception) -> StoreError:
        return StoreError(f"S3 store error: {exc}")

    def put(self, image_id: str, chunks: Iterable[bytes], max_size: int | None = None) -> Written:
        from botocore.exceptions import BotoCoreError, ClientError

        hasher = _Hasher()
        key = self.key(image_id)
        try:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                            ContentType="application/octet-stream")["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from exc
        parts: list[dict[str, Any]] = []
        buffer = bytearray()

        def flush() -> None:
            number = len(parts) + 1
            answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                             Body=bytes(buffer))
            parts.append({"ETag": answer["ETag"], "PartNumber": number})
            buffer.clear()

        try:
            for chunk in _checked(chunks, hasher, max_size):
                buffer += chunk
                if len(buffer) >= self.part_size:
                    flush()
            if buffer or not parts:
                flush()
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException as exc:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except (BotoCoreError, ClientError):
                pass  # best effort: the original error is the one to report
            if isinstance(exc, (BotoCoreError, ClientError)):
                raise self._error(exc) from exc
            raise
        return Written(hasher.size, hasher.md5.hexdigest(), hasher.sha.hexdigest(),
                       f"s3://{self.bucket}/{key}")

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def get(self, image_id: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(image_id)}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            kwargs["Range"] = f"bytes={offset}-{end}"
        if length == 0:
            self.size(image_id)
            return iter(())
        try:
            body = self.client.get_object(**kwargs)["Body"]
        except (BotoCoreError, ClientError) as exc:
            if self._missing(exc):
                raise DataNotFound(image_id) from None
            raise self._error(exc) from exc
        return self._read(body)

    @staticmethod
    def _read(body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def size(self, image_id: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(image_id))["ContentLength"])
        except (BotoCoreError, ClientError) as exc:
            if self._missing(exc):
                raise DataNotFound(image_id) from None
            raise self._error(exc) from exc

    def delete(self, image_id: str) -> bool:
        if not self.exists(image_id):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(image_id))
        return True


def from_settings(settings: Any) -> ImageStore:
    """The store ``[image] store`` names: ``file`` (the default) or ``s3``.

    :raises ValueError: an unknown store, or ``s3`` without a bucket.
    """
    image = settings.image
    if image.store == "file":
        return FilesystemStore(settings.data_dir / "images")
    if image.store != "s3":
        raise ValueError(f"[image] store: unknown image store {image.store!r} (file, s3)")
    if not image.s3_bucket:
        raise ValueError("[image] store = s3 needs s3_bucket")
    kwargs: dict[str, Any] = {}
    if image.s3_endpoint_url:
        kwargs["endpoint_url"] = image.s3_endpoint_url
    if image.s3_region:
        kwargs["region_name"] = image.s3_region
    if image.s3_access_key_id is not None:
        kwargs["aws_access_key_id"] = image.s3_access_key_id.reveal()
    if image.s3_secret_access_key is not None:
        kwargs["aws_secret_access_key"] = image.s3_secret_access_key.reveal()
    return S3Store(image.s3_bucket, prefix=image.s3_prefix, part_size=image.s3_part_size, create_bucket=True,
                   **kwargs)
