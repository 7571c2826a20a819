"""The driver exception model (Octavia's, generalised). The operations engine retries only
:class:`Unavailable`; the API turns the others into the service's fault."""

from __future__ import annotations


class DriverError(Exception):
    """Base of everything a driver raises; also the catch-all for an unclassified failure."""

    retryable = False


class NotFound(DriverError):
    """The backend has no such resource."""


class Conflict(DriverError):
    """The backend refuses the call in the resource's current state."""


class InvalidRequest(DriverError):
    """The backend refuses the arguments (bad flavor for this image, unknown zone, ...)."""


class NotSupported(DriverError):
    """The driver does not offer this operation (see its capabilities)."""


class BuildFailed(DriverError):
    """The resource could not be built; it is in ERROR on the backend or was never made."""


class DeleteFailed(DriverError):
    """The resource could not be deleted."""


class NotSuspended(Conflict):
    """resume() on a server that is not suspended."""


class Unavailable(DriverError):
    """The backend could not be reached or answered a transient error; safe to retry.

    ``retry_after`` (seconds), when the backend said how long to wait (HTTP ``Retry-After``), is
    honoured by the operations engine's backoff and passed on to clients as ``Retry-After``.
    """

    retryable = True

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(DriverError):
    """The provider's own quota refused the call."""
