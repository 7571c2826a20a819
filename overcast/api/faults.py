"""Faults and their per-service error bodies.

Handlers raise :class:`Fault` (or let Falcon raise its own HTTPError); one serializer renders
the body the service at that URL would give: Keystone's ``{"error": ...}``, Nova's and Cinder's
``{"itemNotFound": ...}``, Neutron's ``{"NeutronError": ...}``, Glance's and the CDN's.
"""

from __future__ import annotations

import http
import logging
from typing import Any, Callable

import falcon

from overcast.api import media

LOG = logging.getLogger(__name__)

# Nova's (and Cinder's) fault names by status, as nova.api.openstack.wsgi.Fault names them.
_NOVA_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


UNEXPECTED = "An unexpected error prevented the server from fulfilling your request."

# Cinder's fault names (cinder.api.openstack.wsgi.Fault._fault_names): Nova's without 429.
_CINDER_NAMES = {code: name for code, name in _NOVA_NAMES.items() if code != 429}


class Fault(falcon.HTTPError):
    """An error answered with the service's own body.

    ``kind`` names the error where the service has names for them (Neutron's ``type``, e.g.
    ``NetworkNotFound``); otherwise it is derived from the status.
    """

    def __init__(self, status: int, message: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(falcon.code_to_http_status(status), title=_title(status),
                         description=message, headers=headers)
        self.code = status
        self.message = message
        self.kind = kind


def _title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class BadRequest(Fault):
    def __init__(self, message: str, **kw: Any):
        super().__init__(400, message, **kw)


class Unauthorized(Fault):
    def __init__(self, message: str = "The request you have made requires authentication.", **kw: Any):
        super().__init__(401, message, **kw)


class Forbidden(Fault):
    def __init__(self, message: str = "You are not authorized to perform the requested action.", **kw: Any):
        super().__init__(403, message, **kw)


class NotFound(Fault):
    def __init__(self, message: str, **kw: Any):
        super().__init__(404, message, **kw)


class Conflict(Fault):
    def __init__(self, message: str, **kw: Any):
        super().__init__(409, message, **kw)


class TooLarge(Fault):
    def __init__(self, message: str = "Request is too large.", **kw: Any):
        super().__init__(413, message, **kw)


class NotImplementedFault(Fault):
    def __init__(self, message: str, **kw: Any):
        super().__init__(501, message, **kw)


def _status_code(exc: falcon.HTTPError) -> int:
    return int(str(exc.status).split()[0]) if not isinstance(exc.status, int) else exc.status


def _message(exc: falcon.HTTPError) -> str:
    return getattr(exc, "message", None) or exc.description or exc.title or _title(_status_code(exc))


def _identity(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "title": _title(code)}}


def _nova(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    return {_NOVA_NAMES.get(code, "computeFault"):
            {"code": code, "message": message}}


def _neutron(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    kind = getattr(exc, "kind", None) or "HTTP" + _title(code).replace(" ", "")
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def _glance(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    # Glance answers webob's error document; in JSON that is code/title/message.
    return {"code": f"{code} {_title(code)}", "title": _title(code), "message": message}


def _cdn(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    return {"message": message}


def _cinder(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    # cinder.api.openstack.wsgi.Fault: Nova's names, less 429; anything else (a 500) is "computeFault"
    return {_CINDER_NAMES.get(code, "computeFault"): {"code": code, "message": message}}


#: webob's explanation of each status, which Placement's error detail starts with
_WEBOB_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your browser.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    415: "The request media type is not supported by this server.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    501: "The server has not implemented the requested functionality.",
    503: "The server is currently unavailable. Please try again at a later time.",
}


def _placement(code: int, message: str, exc: falcon.HTTPError) -> dict[str, Any]:
    """Placement's ``{"errors": [...]}``; an error ``code`` from 1.23; 401 is keystonemiddleware's."""
    if code == 401:
        return _identity(code, message, exc)
    ctx = getattr(exc, "request_context", None)
    explanation = _WEBOB_EXPLANATIONS.get(code, _title(code))
    detail = explanation if message in (explanation, "") else f"{explanation}\n\n {message}  "
    error: dict[str, Any] = {"status": code, "title": _title(code), "detail": detail}
    version = getattr(ctx, "microversion", None)
    if version is not None and (version.major, version.minor) >= (1, 23):
        kind = getattr(exc, "kind", None) or ""
        error["code"] = kind if kind.startswith("placement.") else "placement.undefined_code"
    request_id = getattr(ctx, "request_id", None)
    if request_id:
        error["request_id"] = request_id
    version_range = getattr(exc, "version_range", None)
    if version_range is not None:  # a version out of range: clients fall back to the maximum
        error["min_version"], error["max_version"] = version_range
    return {"errors": [error]}


RENDERERS: dict[str | None, Callable[[int, str, falcon.HTTPError], dict[str, Any]]] = {
    "identity": _identity,
    "compute": _nova,
    "volume": _cinder,
    "network": _neutron,
    "image": _glance,
    "cdn": _cdn,
    "placement": _placement,
    None: _identity,
}


def render(service: str | None, exc: falcon.HTTPError) -> tuple[int, dict[str, Any]]:
    code = _status_code(exc)
    return code, RENDERERS.get(service, _identity)(code, _message(exc), exc)


def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon error serializer: the body of the service the request was addressed to."""
    exc.request_context = req.context  # Placement's body names the request id and microversion
    _, body = render(getattr(req.context, "service", None), exc)
    resp.data = media.dumps(body)
    resp.content_type = falcon.MEDIA_JSON
    resp.append_header("Vary", "Accept")


def handle_unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict) -> None:
    """Last resort: log the traceback, answer the service's 500 body, never the traceback."""
    if isinstance(exc, falcon.HTTPError):
        raise exc
    LOG.exception("unexpected error serving %s %s", req.method, req.path)
    raise Fault(500, UNEXPECTED)
