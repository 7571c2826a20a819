"""Glance's image locations (``show_multiple_locations``): the URLs an image's data may be read from,
added, replaced and removed by JSON Patch on ``/locations`` (docs/decisions/0074-image-locations.md).

Glance's rules (``glance/api/v2/images.py`` ``_do_add_locations``/``_do_replace_locations``/
``_do_remove_locations`` and ``glance/location.py``): a location is added to a ``queued`` or
``active`` image (a queued one becomes active, its size the location's); a URL must be one Glance may
read from outside its own stores (here http and https, through the ``[image] web_download_*`` filter)
and must answer with data, else 400 "Invalid location"; a URL already there is 400; a replace may
change the metadata of the locations but not their URLs; ``validation_data`` (checksum, os_hash_algo,
os_hash_value) fills a queued image's hashes and must agree with hashes already set (409); the last
location cannot be removed (403).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any, Callable, Sequence

from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid
from overcast.core.image import get
from overcast.core.image.web import ImportFilter, Refused
from overcast.store.image import Image
from overcast.store.models import utcnow

#: Glance's ``hashing_algorithm`` default: what ``validation_data`` must name to set a new hash
HASHING_ALGORITHM = "sha512"
#: the schemes a client may add (Glance refuses its own stores' file/filesystem/swift+config URLs)
EXTERNAL_SCHEMES = ("http", "https")


def shown(image: Any) -> list[dict[str, Any]]:
    """``image``'s locations as Glance shows them: those a client set, else the store's own (once
    the image has data), else none."""
    if image.locations is not None:
        return [{"url": loc["url"], "metadata": dict(loc.get("metadata") or {})} for loc in image.locations]
    if image.location and image.status in ("active", "deactivated"):
        return [{"url": image.location, "metadata": {}}]
    return []


def external_url(image: Image) -> str | None:
    """The first http(s) location of an image whose data is in no store of ours (None otherwise)."""
    if image.location:
        return None
    for loc in image.locations or ():
        if loc["url"].partition("://")[0].lower() in EXTERNAL_SCHEMES:
            return str(loc["url"])
    return None


def _position(token: str, count: int, adding: bool) -> int:
    """Glance's ``_get_locations_op_pos``. :raises Invalid:"""
    if token == "-" and adding:
        return count
    if token.isdigit() and int(token) <= (count if adding else count - 1):
        return int(token)
    raise Invalid(f"Invalid position for {'adding' if adding else 'removing'} a location.")


class Locations:
    """The location rules with what they need of the deployment: the URL filter (``filters()``
    returns the current one), and ``drop(image)``, called when the store's own location goes (its data
    is removed once the change commits)."""

    def __init__(self, filters: Callable[[], ImportFilter], drop: Callable[[Image], None]):
        self.filters, self.drop = filters, drop

    def _size(self, url: str) -> int:
        """The size of the data at ``url``. :raises Invalid: not a URL we may read, or no data there."""
        if url.partition("://")[0].lower() not in EXTERNAL_SCHEMES:
            raise Invalid("Invalid location")
        try:
            size = self.filters().size(url)
        except (Refused, OSError, ValueError):
            raise Invalid("Invalid location") from None
        if not size:
            raise Invalid("Invalid location")
        return size

    def _checked(self, image: Image, value: Sequence[dict[str, Any]], known: set[str]) -> list[dict[str, Any]]:
        """The new locations (url, metadata) of ``value``, each URL readable unless ``known``.
        :raises Invalid:"""
        seen: set[str] = set()
        found = []
        for loc in value:
            url = loc["url"]
            if url in seen:
                raise Invalid(f"The location {url} already exists")
            seen.add(url)
            if url not in known:
                size = self._size(url)
                if image.size is None:
                    image.size = size
            found.append({"url": url, "metadata": copy.deepcopy(loc.get("metadata") or {})})
        return found

    def add(self, ctx: AuthContext, image: Image, token: str, value: dict[str, Any]) -> None:
        """``add /locations/<pos>``. :raises Conflict: status, hashes. :raises Invalid: position, URL."""
        if image.status not in ("active", "queued"):
            raise Conflict(f"It's not allowed to add locations if image status is {image.status}.")
        hashes = validation_data(image, [value])
        locations = shown(image)
        pos = _position(token, len(locations), adding=True)
        if any(loc["url"] == value["url"] for loc in locations):
            raise Invalid(f"The location {value['url']} already exists")
        locations.insert(pos, self._checked(image, [value], set())[0])
        self._set(image, locations, hashes)

    def replace(self, ctx: AuthContext, image: Image, value: list[dict[str, Any]]) -> None:
        """``replace /locations``: the same URLs with new metadata (or any on an image with none).
        :raises Conflict: status, hashes. :raises Invalid: a URL changed, added or dropped."""
        if image.status not in ("active", "queued"):
            raise Conflict(f"It's not allowed to replace locations if image status is {image.status}.")
        hashes = validation_data(image, value)
        current = shown(image)
        urls = {loc["url"] for loc in current}
        if current and sorted(loc["url"] for loc in value) != sorted(urls):
            raise Invalid("Locations of an image may only be replaced by the same URLs (to change their "
                          "metadata); add or remove a location instead.")
        if not value:
            return
        self._set(image, self._checked(image, value, urls), hashes)

    def remove(self, ctx: AuthContext, image: Image, token: str) -> None:
        """``remove /locations/<pos>``. :raises Conflict: status. :raises Forbidden: the last one.
        :raises Invalid: position."""
        if image.status != "active":
            raise Conflict(f"It's not allowed to remove locations if image status is {image.status}.")
        locations = shown(image)
        if len(locations) == 1:
            raise Forbidden("Cannot remove last location in the image.")
        gone = locations.pop(_position(token, len(locations), adding=False))
        if image.location is not None and gone["url"] == image.location:
            self.drop(image)
            image.location = None
        self._set(image, locations, {})

    @staticmethod
    def _set(image: Image, locations: list[dict[str, Any]], hashes: dict[str, str]) -> None:
        image.locations = locations
        if image.status == "queued":
            for key, val in hashes.items():
                setattr(image, key, val)
            image.status = "active"
        image.updated_at = utcnow()


def validation_data(image: Image, locations: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Glance's ``_validate_validation_data``: the hashes the locations' ``validation_data`` give
    that the image has not set yet. :raises Conflict: values that disagree with each other or with
    the image's, new values on an image that is not queued, or malformed ones."""
    given: dict[str, str] = {}
    for loc in locations:
        for key, val in (loc.get("validation_data") or {}).items():
            if given.get(key, val) != val:
                raise Conflict(f"Conflicting values for {key}")
            given[key] = val
    new: dict[str, str] = {}
    for key, val in given.items():
        current = getattr(image, key)
        if val == current:
            continue
        if current:
            raise Conflict(f"{key} is already set with a different value")
        new[key] = val
    if not new:
        return {}
    if image.status != "queued":
        raise Conflict(f"New value(s) for {', '.join(new)} may only be provided when image status is 'queued'")
    if "checksum" in new:
        hex_of_size(new["checksum"], "checksum", 16, "md5")
    algo = new.get("os_hash_algo")
    if algo != HASHING_ALGORITHM:
        raise Conflict(f"os_hash_algo must be {HASHING_ALGORITHM}, not {algo}")
    hex_of_size(new.get("os_hash_value", ""), "os_hash_value", hashlib.new(algo).digest_size, algo)
    return new


def hex_of_size(value: str, name: str, size: int, algo: str, fault: type[Exception] = Conflict) -> None:
    """:raises fault: ``value`` is not the hex of ``size`` bytes (a digest of ``algo``)."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise fault(f"{name} ({value}) is not a valid hexadecimal value") from None
    if len(raw) != size:
        raise fault(f"{name} ({value}) is not the correct size for {algo} (should be {size} bytes)")


def listed(session: Session, ctx: AuthContext, image_id: str, *, region: str) -> list[dict[str, Any]]:
    """``GET /v2/images/{id}/locations`` (2.17): an image's locations, for services (Glance's
    fetch_image_location: the service role). :raises NotFound: :raises Forbidden:"""
    image = get(session, ctx, image_id, region=region)
    if not policy.allowed("fetch_image_location", ctx, {"project_id": image.owner}):
        raise Forbidden("You are not authorized to complete fetch_image_location action.")
    return shown(image)
