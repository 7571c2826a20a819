"""Glance's image data: upload (``PUT /file``), download, staging and the interoperable import.

Status moves as Glance's do: upload ``queued -> saving -> active``; stage ``queued -> uploading``;
import ``uploading`` (glance-direct) or ``queued`` (web-download) ``-> importing -> active``. A
failed upload or import goes back to ``queued`` (staged data of a failed import is dropped).
Each move is one conditional UPDATE, so two uploads racing for one image cannot both win.
The bytes never pass through the database session: they stream from the request (or URL) into
the image store one chunk at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Gone, Invalid, OvercastError
from overcast.core.image import ImageCore, get
from overcast.core.image.stores import DataNotFound, SizeLimitExceeded, StoreError, Written
from overcast.core.image.locations import EXTERNAL_SCHEMES, HASHING_ALGORITHM, external_url, hex_of_size
from overcast.core.image.web import ImportFilter, Refused
from overcast.core.image.writes import require, writable
from overcast.store.image import Image, ImageTask
from overcast.store.models import utcnow

IMPORT_METHODS = ("glance-direct", "web-download")
#: how long a finished import task is kept (Glance's task_time_to_live, 48 h)
TASK_TTL = dt.timedelta(hours=48)


class TooLarge(OvercastError):
    """The data is over ``[image] size_cap`` (Glance: 413)."""

    status = 413


class StoreUnavailable(OvercastError):
    """The image store failed (Glance: 503)."""

    status = 503


@dataclass(frozen=True)
class Data:
    """An image's data, ready to stream: its size and MD5 as recorded, and a reader."""

    size: int
    checksum: str | None
    read: Any  # (offset, length) -> Iterator[bytes]


def move(session: Session, image_id: str, from_status: str, to_status: str, **values: Any) -> bool:
    """Change status only if it is still ``from_status``; True if this call made the change."""
    result = session.execute(update(Image).where(Image.id == image_id, Image.status == from_status)
                             .values(status=to_status, updated_at=utcnow(), **values))
    return result.rowcount == 1


def _transition_error(current: str, new: str) -> Conflict:
    return Conflict(f"Image status transition from {current} to {new} is not allowed")


def _need_formats(image: Image) -> None:
    if not image.disk_format or not image.container_format:
        raise Invalid("Properties disk_format, container_format must be set prior to saving data.")


class _Sniffer:
    """Passes chunks through, keeping the first bytes (the disk format's header)."""

    HEADER = 32

    def __init__(self, chunks: Iterable[bytes]):
        self.chunks, self.head = chunks, b""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if len(self.head) < self.HEADER:
                self.head += chunk[: self.HEADER - len(self.head)]
            yield chunk

    def virtual_size(self, disk_format: str | None, size: int) -> int | None:
        """QCOW2's header announces it; a raw disk is its size; other formats: unknown."""
        if disk_format == "raw":
            return size
        if disk_format == "qcow2" and len(self.head) >= 32 and self.head[:4] == b"QFI\xfb":
            return int(struct.unpack(">Q", self.head[24:32])[0])
        return None


def write_data(core: ImageCore, image_id: str, chunks: Iterable[bytes], disk_format: str | None
               ) -> tuple[Written, int | None]:
    """Store the data; returns what was written and the virtual size the header announces.

    :raises TooLarge: over ``[image] size_cap``. :raises StoreUnavailable: the store failed.
    """
    sniffer = _Sniffer(chunks)
    try:
        written = core.data.put(image_id, sniffer, max_size=core.settings.image.size_cap)
    except SizeLimitExceeded as exc:
        raise TooLarge(f"Image exceeds the storage quota: {exc}") from None
    except StoreError as exc:
        raise StoreUnavailable(f"Error storing image data: {exc}") from None
    return written, sniffer.virtual_size(disk_format, written.size)


def activate(core: ImageCore, image_id: str, from_status: str, written: Written, virtual_size: int | None
             ) -> None:
    """Record the data and make the image active. :raises Gone: deleted while the data was written."""
    with core.store.session() as session:
        done = move(session, image_id, from_status, "active", size=written.size, checksum=written.checksum,
                    os_hash_algo=written.os_hash_algo, os_hash_value=written.os_hash_value,
                    location=written.location, virtual_size=virtual_size)
    if not done:
        core.data.delete(image_id)
        raise Gone(f"Image {image_id} could not be found after upload. The image may have been deleted "
                   "during the upload.")


def _restore(core: ImageCore, image_id: str, from_status: str) -> None:
    with core.store.session() as session:
        move(session, image_id, from_status, "queued")


def upload(core: ImageCore, ctx: AuthContext, image_id: str, chunks: Iterable[bytes], *, region: str) -> None:
    """``PUT /file``: store the data, then ``active`` with size, checksum and hash.

    :raises NotFound: :raises Forbidden: not the owner. :raises Invalid: formats unset.
    :raises Conflict: not ``queued`` (e.g. already active, or another upload in progress).
    :raises TooLarge: :raises StoreUnavailable: :raises Gone: deleted during the upload.
    """
    with core.store.session() as session:
        image = writable(session, ctx, image_id, "upload data to", region=region)
        _need_formats(image)
        disk_format = image.disk_format
        if not move(session, image_id, "queued", "saving"):
            raise _transition_error(image.status, "saving")
    try:
        written, virtual_size = write_data(core, image_id, chunks, disk_format)
    except BaseException:
        _restore(core, image_id, "saving")
        raise
    activate(core, image_id, "saving", written, virtual_size)


def open_data(core: ImageCore, ctx: AuthContext, image_id: str, *, region: str) -> Data | None:
    """``GET /file``: the data to stream, or None when the image has none (Glance: 204).

    :raises NotFound: :raises Forbidden: deactivated (admins may still download).
    """
    with core.store.session() as session:
        image = get(session, ctx, image_id, region=region)
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
        if image.status not in ("active", "deactivated") or image.size is None:
            return None
        url = external_url(image)  # data only at a location a client added (0074)
        if url is not None:
            return Data(image.size, image.checksum, lambda offset=0, length=None: _read_url(core, url, offset, length))
        if image.cloud is not None and image.location is None:  # its data is the backend's (0025)
            return None
        store, size, checksum = core.store_for(image), image.size, image.checksum

    def read(offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            return store.get(image_id, offset, length)
        except DataNotFound:
            raise StoreUnavailable(f"The data of image {image_id} is missing from its store.") from None

    return Data(size, checksum, read)


def image_bytes(core: ImageCore, image: Image) -> Callable[[], Iterator[bytes]]:
    """How to read all of ``image``'s data (a compute driver's reader), decided from the record now and
    called once its session is done: from our store, or from its http location when that is the only
    place it is (0074). The call raises DataNotFound or StoreUnavailable."""
    url, store, image_id = external_url(image), core.store_for(image), image.id
    if url is not None:
        return lambda: _read_url(core, url, 0, None)
    return lambda: store.get(image_id)


def _read_url(core: ImageCore, url: str, offset: int, length: int | None) -> Iterator[bytes]:
    """Bytes ``offset`` to ``offset + length`` of the data at ``url`` (Glance's http store reads a
    location's data as it streams it), fetched through the web-download filter.
    :raises StoreUnavailable: the URL is refused, unreachable or answers an error."""
    def chunks() -> Iterator[bytes]:
        skip, left = offset, length
        for chunk in ImportFilter(core.settings.image).open(url):
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
            if left is not None:
                chunk, left = chunk[:left], left - min(left, len(chunk))
            if chunk:
                yield chunk
            if left == 0:
                return

    stream = chunks()
    try:
        first = next(stream, b"")
    except (Refused, OSError) as exc:
        raise StoreUnavailable(f"The data of this image cannot be read from its location: {exc}") from None

    def rest() -> Iterator[bytes]:
        if first:
            yield first
        yield from stream

    return rest()


def stage(core: ImageCore, ctx: AuthContext, image_id: str, chunks: Iterable[bytes], *, region: str) -> None:
    """``PUT /stage``: keep the data in the staging area; the image becomes ``uploading``.

    :raises NotFound: :raises Forbidden: :raises Conflict: not ``queued``. :raises TooLarge:
    """
    with core.store.session() as session:
        image = writable(session, ctx, image_id, "stage data for", region=region)
        if not move(session, image_id, "queued", "uploading"):
            raise _transition_error(image.status, "uploading")
    try:
        written = core.staging.put(image_id, chunks, max_size=core.settings.image.size_cap)
    except BaseException as exc:
        _restore(core, image_id, "uploading")
        if isinstance(exc, SizeLimitExceeded):
            raise TooLarge(f"Image exceeds the storage quota: {exc}") from None
        raise
    with core.store.session() as session:
        session.execute(update(Image).where(Image.id == image_id).values(size=written.size))


def check_uri(core: ImageCore, uri: Any, purpose: str = "web-download") -> str:
    """``uri`` if Overcast may fetch image data from it (``[image] web_download_*``, Glance's
    import filtering; core/image/web.py), checked when the request arrives. :raises Invalid:"""
    if not isinstance(uri, str) or not uri:
        raise Invalid(f"URI for {purpose} does not pass filtering: None")
    try:
        ImportFilter(core.settings.image).check_resolved(uri)
    except Refused:
        raise Invalid(f"URI for {purpose} does not pass filtering: {uri}") from None
    return uri


def start_import(core: ImageCore, ctx: AuthContext, image_id: str, body: Mapping[str, Any],
                 request_id: str | None, *, region: str) -> ImageTask:
    """``POST /import``: check the request, mark the image ``importing`` and run the import in the background.

    :raises NotFound: :raises Forbidden: :raises Invalid: unknown method, bad URI.
    :raises Conflict: not staged (glance-direct), not queued (web-download), formats unset.
    """
    method = body.get("method") or {}
    name = method.get("name") if isinstance(method, dict) else None
    if name not in IMPORT_METHODS:
        raise Invalid(f"Import method {name} is not valid.") if name else Invalid("Import method is required.")
    uri = check_uri(core, method.get("uri")) if name == "web-download" else None
    with core.store.session() as session:
        image = writable(session, ctx, image_id, "import", region=region)
        if not image.disk_format or not image.container_format:
            raise Conflict("'disk_format' needs to be set before import")
        source = "uploading" if name == "glance-direct" else "queued"
        if image.status != source:
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used"
                           if name == "glance-direct" else
                           f"Image needs to be in 'queued' state to use '{name}' method")
        if not move(session, image_id, source, "importing"):
            raise _transition_error(image.status, "importing")
        task = ImageTask(id=str(uuid.uuid4()), image_id=image_id, status="pending", owner=image.owner,
                         user_id=ctx.user_id, request_id=request_id, input={"image_id": image_id,
                         "import_req": dict(body), "backend": [core.data.id]}, message="")
        session.add(task)
        session.flush()
        disk_format, task_id = image.disk_format, task.id
    core.submit(lambda: run_import(core, task_id, image_id, name, source, uri, disk_format))
    return task


def fetch(core: ImageCore, uri: str, purpose: str = "web-download") -> Iterator[bytes]:
    """The data at ``uri`` in chunks, filtered again where it is fetched: every address and every
    redirect. :raises OSError: unreachable, or (as a message the task records) refused."""
    try:
        yield from ImportFilter(core.settings.image).open(uri)
    except Refused as exc:
        raise OSError(f"URI for {purpose} does not pass filtering: {exc}") from None


def set_task_status(core: ImageCore, task_id: str, status: str, message: str = "", image_id: str | None = None
                    ) -> None:
    """Record a task's progress; a success's result names ``image_id`` (by default the task's image)."""
    with core.store.session() as session:
        task = session.get(ImageTask, task_id)
        if task is not None:
            task.status, task.message, task.updated_at = status, message[:1024], utcnow()
            if status in ("success", "failure"):
                task.expires_at = utcnow() + TASK_TTL
                task.result = {"image_id": image_id or task.image_id} if status == "success" else None


def run_data_task(core: ImageCore, task_id: str, from_status: str,
                  prepare: Callable[[], tuple[str, Iterable[bytes], str | None]],
                  undo: Callable[[str | None], None]) -> None:
    """A task that puts data into an image (worker side); never raises a store, data or I/O failure.

    ``prepare()`` gives (image id, chunks, disk format); the chunks are written to the store and the
    image made active from ``from_status``. On a failure ``undo(image id, or None if prepare
    failed first)`` runs and the task records the message; otherwise the task succeeds.
    """
    set_task_status(core, task_id, "processing")
    image_id = None
    try:
        image_id, chunks, disk_format = prepare()
        written, virtual_size = write_data(core, image_id, chunks, disk_format)
        activate(core, image_id, from_status, written, virtual_size)
    except (OvercastError, StoreError, OSError) as exc:  # OSError covers urllib's URLError
        message = getattr(exc, "message", None) or str(exc)
        undo(image_id)
        set_task_status(core, task_id, "failure", message)
    else:
        set_task_status(core, task_id, "success", image_id=image_id)


def run_import(core: ImageCore, task_id: str, image_id: str, method: str, source: str, uri: str | None,
               disk_format: str | None) -> None:
    """Move the data into the store (worker side); never raises: failure is recorded on the task."""

    def prepare() -> tuple[str, Iterable[bytes], str | None]:
        return image_id, core.staging.get(image_id) if method == "glance-direct" else fetch(core, uri or ""), disk_format

    def requeue(_: str | None) -> None:
        with core.store.session() as session:
            image = session.get(Image, image_id)
            if image is not None and image.status == "importing":
                image.status, image.updated_at = "queued", utcnow()
                image.properties = {**(image.properties or {}), "os_glance_failed_import": core.data.id}
                image.size = None

    try:
        run_data_task(core, task_id, "importing", prepare, requeue)
    finally:
        core.staging.delete(image_id)


def discard(core: ImageCore, image: Image) -> None:
    """Remove a deleted image's data and anything staged for it."""
    core.store_for(image).delete(image.id)
    core.staging.delete(image.id)


# --- the add location API (Glance 2.17, docs/decisions/0074-image-locations.md) ----------------------


def _hash_request(validation: Mapping[str, Any]) -> tuple[str, str | None]:
    """(algorithm, expected hex value or None) from ``validation_data``: Glance's ``hashing_algorithm``
    when none is given. :raises Invalid: a value without an algorithm, an unknown algorithm, or a value
    that is not the hex digest size of its algorithm."""
    algo, value = validation.get("os_hash_algo"), validation.get("os_hash_value")
    if value is not None and algo is None:
        raise Invalid("os_hash_algo must be given with os_hash_value")
    if algo is None:
        return HASHING_ALGORITHM, None
    if algo not in hashlib.algorithms_available:
        raise Invalid(f"os_hash_algo {algo} is not supported")
    if value is None:
        raise Invalid("os_hash_value must be given with os_hash_algo")
    hex_of_size(value, "os_hash_value", hashlib.new(algo).digest_size, algo, Invalid)
    return algo, value.lower()


def start_location_import(core: ImageCore, ctx: AuthContext, image_id: str, url: str,
                          validation: Mapping[str, Any], request_id: str | None, *, region: str) -> ImageTask:
    """``POST /v2/images/{id}/locations``: check the request, mark the queued image ``importing`` and
    read the location's data in the background (a ``location_import`` task) to record its size,
    checksum and hash; a hash that differs from ``validation``'s fails the task and the image is
    queued again. :raises NotFound: :raises Forbidden: :raises Invalid: URL or validation data.
    :raises Conflict: not queued."""
    algo, expected = _hash_request(validation)
    if url.partition("://")[0].lower() not in EXTERNAL_SCHEMES:
        raise Invalid("Invalid location")
    check_uri(core, url, "location")
    with core.store.session() as session:
        image = get(session, ctx, image_id, region=region)
        require(ctx, image, "add_image_location", "add a location to")
        if image.status != "queued":
            raise Conflict(f"It's not allowed to add locations if image status is {image.status}.")
        if not move(session, image_id, "queued", "importing"):
            raise _transition_error(image.status, "importing")
        task = ImageTask(id=str(uuid.uuid4()), image_id=image_id, type="location_import", status="pending",
                         owner=image.owner, user_id=ctx.user_id, request_id=request_id,
                         input={"image_id": image_id, "loc_url": url, "validation_data": dict(validation)},
                         message="")
        session.add(task)
        session.flush()
        task_id = task.id
    core.submit(lambda: run_location_import(core, task_id, image_id, url, algo, expected))
    return task


def run_location_import(core: ImageCore, task_id: str, image_id: str, url: str, algo: str,
                        expected: str | None) -> None:
    """Read the location's data once (worker side) for its size, MD5 and ``algo`` hash; never raises."""
    set_task_status(core, task_id, "processing")
    md5, digest, size = hashlib.md5(usedforsecurity=False), hashlib.new(algo), 0
    try:
        for chunk in fetch(core, url, "location"):
            size += len(chunk)
            if size > core.settings.image.size_cap:
                raise Invalid(f"Image exceeds the storage quota: more than {core.settings.image.size_cap} bytes")
            md5.update(chunk)
            digest.update(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise Invalid(f"Image hash verification failed for {url}: {algo} is {digest.hexdigest()}, "
                          f"not {expected}")
    except (OvercastError, OSError) as exc:
        with core.store.session() as session:
            move(session, image_id, "importing", "queued")
        set_task_status(core, task_id, "failure", getattr(exc, "message", None) or str(exc))
        return
    with core.store.session() as session:
        done = move(session, image_id, "importing", "active", size=size, checksum=md5.hexdigest(),
                    os_hash_algo=algo, os_hash_value=digest.hexdigest(),
                    locations=[{"url": url, "metadata": {}}])
    if done:
        set_task_status(core, task_id, "success")
    else:
        set_task_status(core, task_id, "failure", f"Image {image_id} was deleted while its location was read.")
