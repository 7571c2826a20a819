"""Libcloud's exceptions -> the driver exception model, at the boundary (no secret in a message)."""

from __future__ import annotations

import contextlib
import socket
from typing import Iterator

from overcast.drivers import errors

#: EC2 error codes (and OpenStack fault words) by what they mean for the engine
_NOT_FOUND = ("NotFound", "InvalidInstanceID.Malformed", "InvalidVolume.Malformed", "InvalidID",
              "InvalidParameterValue: Invalid id", "does not exist", "could not be found")
_CONFLICT = ("IncorrectInstanceState", "IncorrectState", "InvalidState", "VolumeInUse", "DependencyViolation",
             "InvalidGroup.InUse", "InUse", "Conflict", "409")
#: refusals of the request itself whose code would read as a conflict (an overlapping CIDR)
_REFUSED = ("InvalidSubnet.Conflict", "InvalidSubnet.Range", "InvalidParameterValue")
_INVALID = ("InvalidParameter", "InvalidAMIID", "InvalidKeyPair", "Unsupported", "InvalidInstanceType",
            "InvalidAvailabilityZone", "InvalidSubnet", "InvalidGroup.NotFound", "InvalidBlockDeviceMapping",
            "IdempotentParameterMismatch", "MissingParameter", "400")
_QUOTA = ("InstanceLimitExceeded", "VolumeLimitExceeded", "AddressLimitExceeded", "VcpuLimitExceeded",
          "InsufficientInstanceCapacity", "OverLimit", "Quota")
_TRANSIENT = ("RequestLimitExceeded", "Throttling", "ServiceUnavailable", "Unavailable", "InternalError",
              "InternalFailure", "ServerInternal")


def _text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or getattr(exc, "value", None) or str(exc)
    return str(message)[:500]


@contextlib.contextmanager
def translated(what: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Run a libcloud call; raise only :class:`~overcast.drivers.errors.DriverError` subclasses.

    ``secrets`` are scrubbed from every message (a provider may echo a key in an error)."""
    from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
    from libcloud.common.types import InvalidCredsError, LibcloudError, MalformedResponseError

    def scrub(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "***")
        return f"{what}: {text}"

    try:
        yield
    except errors.DriverError:
        raise
    except RateLimitReachedError as exc:
        raise errors.Unavailable(scrub(_text(exc)), retry_after=float(getattr(exc, "retry_after", 0) or 1)) from None
    except InvalidCredsError as exc:
        raise errors.DriverError(scrub(f"the provider refused the credentials ({_text(exc)})")) from None
    except MalformedResponseError as exc:
        # a 5xx from a proxy or an emulator answering HTML
        raise errors.Unavailable(scrub(f"malformed answer from the provider ({type(exc).__name__})")) from None
    except BaseHTTPError as exc:
        text, code = _text(exc), int(getattr(exc, "code", 0) or 0)
        retry_after = getattr(exc, "headers", None) and (exc.headers or {}).get("retry-after")
        if code in (429, 502, 503, 504) or code >= 500 or any(w in text for w in _TRANSIENT):
            raise errors.Unavailable(scrub(text or f"HTTP {code}"),
                                     retry_after=float(retry_after) if retry_after else None) from None
        if code == 404 or any(w in text for w in _NOT_FOUND):
            raise errors.NotFound(scrub(text)) from None
        if any(w in text for w in _QUOTA):
            raise errors.QuotaExceeded(scrub(text)) from None
        if any(w in text for w in _REFUSED):
            raise errors.InvalidRequest(scrub(text)) from None
        if code == 409 or any(w in text for w in _CONFLICT):
            raise errors.Conflict(scrub(text)) from None
        if code in (401, 403):
            raise errors.DriverError(scrub(f"the provider refused the call ({code}: {text})")) from None
        raise errors.InvalidRequest(scrub(text or f"HTTP {code}")) from None
    except (OSError, socket.timeout, TimeoutError) as exc:  # refused, reset, DNS, timeouts
        raise errors.Unavailable(scrub(f"provider unreachable ({type(exc).__name__})")) from None
    except LibcloudError as exc:
        text = _text(exc)
        if any(w in text for w in _NOT_FOUND):
            raise errors.NotFound(scrub(text)) from None
        raise errors.DriverError(scrub(text)) from None
    except Exception as exc:  # noqa: BLE001 - requests' ConnectionError and anything else libcloud lets out
        name = type(exc).__name__
        if "Connection" in name or "Timeout" in name:
            raise errors.Unavailable(scrub(f"provider unreachable ({name})")) from None
        raise errors.DriverError(scrub(f"{name}: {_text(exc)}")) from None
