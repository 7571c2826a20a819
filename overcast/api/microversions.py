"""API microversions, as Nova and Cinder negotiate them.

A request names a version in ``OpenStack-API-Version: <service> X.Y`` (or a service's legacy
header, Nova's ``X-OpenStack-Nova-API-Version``); ``latest`` means the maximum. The version used
is echoed in the response with ``Vary``. Views compare with :class:`Version`.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class MicroversionPolicy:
    """One service's range and headers."""

    service: str            # as named in OpenStack-API-Version, e.g. "compute", "volume"
    minimum: Version
    maximum: Version
    legacy_header: str | None = None   # e.g. "X-OpenStack-Nova-API-Version"

    def requested(self, req: falcon.Request) -> Version:
        """The version a request asks for (the minimum when it names none).

        :raises faults.BadRequest: a malformed version.
        :raises faults.Fault: 406 for a version outside the range.
        """
        text = None
        header = req.get_header("OpenStack-API-Version")
        if header:
            for part in header.split(","):
                words = part.strip().split()
                if len(words) == 2 and words[0].lower() == self.service:
                    text = words[1]
        if text is None and self.legacy_header:
            text = req.get_header(self.legacy_header)
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
