"""The cloud's rule violations, framework-free. The API turns each into the service's fault."""

from __future__ import annotations


class OvercastError(Exception):
    """Base of every rule violation; ``status`` is the HTTP status the API answers with."""

    status = 500
    #: A name for the error where a service has one (Neutron's ``type``); optional.
    kind: str | None = None

    def __init__(self, message: str, *, kind: str | None = None):
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind


class Invalid(OvercastError):
    status = 400


class Unauthorized(OvercastError):
    status = 401


class Forbidden(OvercastError):
    status = 403


class NotFound(OvercastError):
    status = 404


class Conflict(OvercastError):
    status = 409


class Gone(OvercastError):
    status = 410


class NotImplementedYet(OvercastError):
    status = 501


class ServiceUnavailable(OvercastError):
    """A backend is unreachable or its circuit breaker is open (503); ``retry_after`` seconds, when
    known, reach the client as ``Retry-After``."""

    status = 503
    kind = "ServiceUnavailable"

    def __init__(self, message: str, *, kind: str | None = None, retry_after: float | None = None):
        super().__init__(message, kind=kind)
        self.retry_after = retry_after
