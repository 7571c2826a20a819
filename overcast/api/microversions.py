"""API microversions, as Nova and Cinder negotiate them.

A request names a version in ``OpenStack-API-Version: <service> X.Y`` (or a service's legacy
header, Nova's ``X-OpenStack-Nova-API-Version``); ``latest`` means the maximum. The version used
is echoed in the response with ``Vary``. Views compare with :class:`Version`.

The services read the header differently, and clients depend on the difference (0019):

* Nova (and Placement) use ``microversion_parse``: the comma-separated entries are read from the
  last, the first word of an entry must equal the service type (any case) and the rest of the
  entry is the version; the legacy header is read only when no entry names the service, and then
  its last comma-separated value counts.
* Cinder takes the first entry that *contains* ``volume`` (so ``volumev3 3.27`` is read as
  3.27); a header with no such entry is a 404, as Cinder's ``VersionNotFoundForAPIMethod``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import total_ordering

import falcon

from overcast.api import faults

_VERSION_RE = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "Version":
        """:raises ValueError: not of the form X.Y"""
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Version.parse(other)
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Version.parse(other)
        return isinstance(other, Version) and (self.major, self.minor) == (other.major, other.minor)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@functools.lru_cache(maxsize=1024)
def reached(version: Version, thresholds: tuple[str, ...]) -> frozenset[str]:
    """The ``thresholds`` (microversions as text, "2.47") that ``version`` reaches, worked out once
    per (version, thresholds): a view renders every record of a list with one such set and tests
    membership instead of comparing versions field by field."""
    return frozenset(text for text in thresholds if version >= Version.parse(text))


def _exact_service(header: str, service: str) -> str | None:
    """microversion_parse's reading: the last entry whose first word is the service type."""
    for entry in reversed(header.split(",")):
        words = entry.strip().split(None, 1)
        if len(words) == 2 and words[0].lower() == service.lower():
            return words[1].strip()
    return None


def _service_within(header: str, service: str) -> str | None:
    """Cinder's reading: the first entry that contains the service name, e.g. ``volumev3 3.27``.

    :raises faults.NotFound: the header has no such entry (Cinder's VersionNotFoundForAPIMethod,
        which its fault wrapper answers with the generic 404 text).
    """
    for entry in header.split(","):
        if service in entry.lower():
            words = entry.split()
            return words[1] if len(words) == 2 else entry.strip()
    raise faults.NotFound("The resource could not be found.")


@dataclass(frozen=True)
class MicroversionPolicy:
    """One service's range and headers."""

    service: str            # as named in OpenStack-API-Version, e.g. "compute", "volume"
    minimum: Version
    maximum: Version
    legacy_header: str | None = None   # e.g. "X-OpenStack-Nova-API-Version"
    #: Cinder's reading of the header (an entry containing the service name) instead of Nova's
    service_within_entry: bool = False

    def requested(self, req: falcon.Request) -> Version:
        """The version a request asks for (the minimum when it names none).

        :raises faults.BadRequest: a malformed version.
        :raises faults.NotFound: Cinder: the header names no volume version.
        :raises faults.Fault: 406 for a version outside the range.
        """
        text = None
        header = req.get_header("OpenStack-API-Version")
        if header:
            read = _service_within if self.service_within_entry else _exact_service
            text = read(header, self.service)
        if text is None and self.legacy_header:
            legacy = req.get_header(self.legacy_header)
            text = legacy.split(",")[-1].strip() if legacy is not None else None
        if text is None:
            return self.minimum
        if text.strip().lower() == "latest":
            return self.maximum
        try:
            version = Version.parse(text)
        except ValueError:
            raise faults.BadRequest(f"API Version String {text} is of invalid format. Must be of format "
                                    "MajorNum.MinorNum.") from None
        if not self.minimum <= version <= self.maximum:
            fault = faults.Fault(406, f"Version {version} is not supported by the API. Minimum is "
                                      f"{self.minimum} and maximum is {self.maximum}.")
            fault.version_range = (str(self.minimum), str(self.maximum))  # Placement's body names them
            raise fault
        return version

    def echo(self, resp: falcon.Response, version: Version) -> None:
        resp.set_header("OpenStack-API-Version", f"{self.service} {version}")
        vary = ["OpenStack-API-Version"]
        if self.legacy_header:
            resp.set_header(self.legacy_header, str(version))
            vary.append(self.legacy_header)
        resp.append_header("Vary", ", ".join(vary))


class MicroversionMiddleware:
    """Negotiates the version for the services that have microversions and echoes it."""

    def __init__(self, policies: dict[str, MicroversionPolicy]):
        self.policies = policies

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy = self.policies.get(req.context.service)
        req.context.microversion = None
        if policy is not None:
            req.context.microversion = policy.minimum  # so a 406 below still echoes a version
            req.context.microversion = policy.requested(req)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: object,
                         req_succeeded: bool) -> None:
        version = getattr(req.context, "microversion", None)
        if version is not None:
            self.policies[req.context.service].echo(resp, version)
