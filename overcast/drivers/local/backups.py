"""Where the local cloud keeps backup data (decision 0049): files under the data directory, or an S3
bucket when the region's ``local`` driver is configured with ``backup_store = "s3"``.

A store holds one whole copy per backup, named by the backup's backend id; the volume driver keeps
the records (parent, size, completeness) in its SQLite file and hands the store a file to keep
(:meth:`BackupStore.put`) or to fill (:meth:`BackupStore.get`).

The S3 store, as Cinder's ``cinder.backup.drivers.s3.S3BackupDriver`` (options of the ``local``
driver; secrets by ``env:``/``file:`` reference, resolved when the configuration loads):

``backup_s3_bucket``
    The bucket (made at the first backup when missing).
``backup_s3_endpoint``
    An S3-compatible endpoint (http or https URL); empty: AWS.
``backup_s3_key``, ``backup_s3_secret``
    The access key pair (both or neither: neither uses boto3's own credential chain).
``backup_s3_region``
    The bucket's region (empty: boto3's default).
``backup_s3_prefix``
    The objects' key prefix (``volume_backups/``): an object is ``<prefix><backend id>``.

Data goes up and comes down streamed through boto3's managed transfer (multipart above
``MULTIPART_THRESHOLD``), never whole in memory. An S3 that cannot be reached (or answers 5xx) is
:class:`Unavailable` (the operations engine retries); the secret is in no message.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from overcast.drivers.errors import DriverError, Unavailable
from overcast.drivers.registry import DriverConfigError

#: Cinder's service names for the two stores (what an exported record's ``backup_service`` says)
POSIX_SERVICE = "cinder.backup.drivers.posix.PosixBackupDriver"
S3_SERVICE = "cinder.backup.drivers.s3.S3BackupDriver"
#: the ``local`` driver's backup options and their defaults
OPTIONS: Mapping[str, Any] = {"backup_store": "file", "backup_s3_endpoint": "", "backup_s3_bucket": "",
                              "backup_s3_key": "", "backup_s3_secret": "", "backup_s3_region": "",
                              "backup_s3_prefix": "volume_backups/"}
#: sizes above this go up (and come down) in parts of this size
MULTIPART_THRESHOLD = 8 * 1024 * 1024
#: S3's bucket naming rules (3-63 characters, lower case, digits, dots, hyphens)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class BackupStore:
    """Whole copies of volumes, one per backup backend id."""

    service = POSIX_SERVICE
    #: where the data is, in words (``overcast coverage``; never a credential)
    location = "files"

    def put(self, backend_id: str, source: Path) -> int:
        """Keep ``source``'s bytes (an absent source: a blank backup, nothing kept); the size kept."""
        raise NotImplementedError

    def get(self, backend_id: str, target: Path) -> int:
        """Write the backup's bytes to ``target`` (a blank backup removes it); the size written."""
        raise NotImplementedError

    def delete(self, backend_id: str) -> None:
        """Forget the backup's bytes (nothing kept is fine)."""
        raise NotImplementedError


def copy_file(source: Path, target: Path) -> int:
    """Copy through a ``.part`` file (a crash leaves no half-written target); an absent source
    (a blank thin volume) makes the target absent too."""
    if not source.exists():
        target.unlink(missing_ok=True)
        return 0
    tmp = target.with_suffix(".part")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return target.stat().st_size


class FileBackupStore(BackupStore):
    """``<data dir>/local-backups/<backend id>``: files in a directory, as Cinder's POSIX driver."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.location = "files under the data directory (local-backups/)"
        directory.mkdir(parents=True, exist_ok=True)

    def put(self, backend_id: str, source: Path) -> int:
        return copy_file(source, self.directory / backend_id)

    def get(self, backend_id: str, target: Path) -> int:
        return copy_file(self.directory / backend_id, target)

    def delete(self, backend_id: str) -> None:
        (self.directory / backend_id).unlink(missing_ok=True)


class S3BackupStore(BackupStore):
    """Objects ``<prefix><backend id>`` in one bucket (see the module docstring)."""

    service = S3_SERVICE

    def __init__(self, bucket: str, *, prefix: str = "volume_backups/", endpoint: str = "", key: str = "",
                 secret: str = "", region: str = "", client: Any = None) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                                  aws_access_key_id=key or None, aws_secret_access_key=secret or None,
                                  config=Config(connect_timeout=5, read_timeout=60,
                                                retries={"max_attempts": 2, "mode": "standard"}))
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"S3 bucket {bucket} at {endpoint or 'AWS'}, objects {prefix}<backup>"
        self._bucket_ready = False

    def key(self, backend_id: str) -> str:
        return f"{self.prefix}{backend_id}"

    def _transfer(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)

    def _failure(self, what: str, exc: Exception) -> DriverError:
        """Unreachable or 5xx: Unavailable (retried); anything else: DriverError. botocore's messages
        name the operation, code and endpoint, never the credentials."""
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

        text = f"local: S3 backup store: could not {what}: {exc}"
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return Unavailable(text)
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"):
                return Unavailable(text)
        # boto3's transfer wraps the real failure: S3UploadFailedError raised while handling a
        # ClientError, RetriesExceededError keeping the last one
        inner = getattr(exc, "last_exception", None) or exc.__cause__ or exc.__context__
        if isinstance(inner, Exception) and inner is not exc:
            wrapped = self._failure(what, inner)
            return wrapped if isinstance(wrapped, Unavailable) else DriverError(text)
        return DriverError(text)

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            region = self.client.meta.region_name
            where = {} if region in (None, "us-east-1") else {
                "CreateBucketConfiguration": {"LocationConstraint": region}}
            try:
                self.client.create_bucket(Bucket=self.bucket, **where)
            except ClientError as made:  # another process made it first
                if str(made.response.get("Error", {}).get("Code", "")) not in ("BucketAlreadyOwnedByYou",):
                    raise
        self._bucket_ready = True

    def put(self, backend_id: str, source: Path) -> int:
        try:
            self._ensure_bucket()
            if not source.exists():  # a blank volume: an empty object, so the backup exists in the bucket
                self.client.put_object(Bucket=self.bucket, Key=self.key(backend_id), Body=b"")
                return 0
            self.client.upload_file(str(source), self.bucket, self.key(backend_id), Config=self._transfer())
        except Exception as exc:  # noqa: BLE001 - every boto failure is translated
            raise self._failure(f"write backup {backend_id}", exc) from None
        return source.stat().st_size

    def get(self, backend_id: str, target: Path) -> int:
        tmp = target.with_suffix(".part")
        try:
            self.client.download_file(self.bucket, self.key(backend_id), str(tmp), Config=self._transfer())
        except Exception as exc:  # noqa: BLE001 - every boto failure is translated
            tmp.unlink(missing_ok=True)
            raise self._failure(f"read backup {backend_id}", exc) from None
        size = tmp.stat().st_size
        if size:
            tmp.replace(target)
        else:  # a blank backup blanks the (thin) volume
            tmp.unlink()
            target.unlink(missing_ok=True)
        return size

    def delete(self, backend_id: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(backend_id))
        except Exception as exc:  # noqa: BLE001 - every boto failure is translated
            from botocore.exceptions import ClientError

            if isinstance(exc, ClientError) and str(exc.response.get("Error", {}).get("Code", "")) in (
                    "NoSuchBucket", "404"):
                return  # nothing was ever kept
            raise self._failure(f"delete backup {backend_id}", exc) from None


def backup_store(options: Mapping[str, Any], directory: Path) -> BackupStore:
    """The store the ``local`` driver's options name.

    :raises DriverConfigError: naming the option that is wrong.
    """
    def text(name: str) -> str:
        value = options.get(name, OPTIONS[name])
        if not isinstance(value, str):
            raise DriverConfigError(f"Driver 'local' option {name!r} must be a string")
        return value.strip()

    store = text("backup_store")
    s3_given = sorted(name for name in OPTIONS if name.startswith("backup_s3_") and name != "backup_s3_prefix"
                      and text(name))
    if store == "file":
        if s3_given:
            raise DriverConfigError(f"Driver 'local' option {s3_given[0]!r} needs backup_store = \"s3\"")
        return FileBackupStore(directory)
    if store != "s3":
        raise DriverConfigError("Driver 'local' option 'backup_store' must be \"file\" or \"s3\"")
    bucket = text("backup_s3_bucket")
    if not bucket:
        raise DriverConfigError("Driver 'local' option 'backup_s3_bucket' is needed with backup_store = \"s3\"")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise DriverConfigError("Driver 'local' option 'backup_s3_bucket' is not a valid S3 bucket name "
                                "(3-63 lower-case letters, digits, dots, hyphens)")
    endpoint = text("backup_s3_endpoint")
    parts = urlsplit(endpoint)
    if endpoint and (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc):
        raise DriverConfigError("Driver 'local' option 'backup_s3_endpoint' must be an http(s) URL without "
                                "credentials (those are backup_s3_key and backup_s3_secret)")
    key, secret = text("backup_s3_key"), text("backup_s3_secret")
    if bool(key) != bool(secret):
        missing = "backup_s3_secret" if key else "backup_s3_key"
        raise DriverConfigError(f"Driver 'local' option {missing!r} is needed with the other half of the key pair")
    region = text("backup_s3_region")
    if region and not re.match(r"^[a-z0-9-]+$", region):
        raise DriverConfigError("Driver 'local' option 'backup_s3_region' is not a region name")
    prefix = text("backup_s3_prefix")
    if prefix.startswith("/"):
        raise DriverConfigError("Driver 'local' option 'backup_s3_prefix' must not start with '/'")
    return S3BackupStore(bucket, prefix=prefix, endpoint=endpoint, key=key, secret=secret, region=region)
