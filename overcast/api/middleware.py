"""Request plumbing: service detection, request ids, body size limit, authentication, logging."""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from typing import Any

import falcon

from overcast.api import faults, media, urls
from overcast.api.routing import MOUNTS
from overcast.core import policy
from overcast.core.tokens import TokenError
from overcast.logs import REQUEST_ID, RequestIdFilter  # noqa: F401 - RequestIdFilter: re-exported
from overcast.redact import mask
from overcast.store.db import begin_unit, end_unit, forget_unit

LOG = logging.getLogger("overcast.access")

#: the access log's masked URIs: a client asks for the same few paths again and again (seven
#: regular expressions a line otherwise; decision 0073)
_mask_uri_cached = functools.lru_cache(maxsize=4096)(mask)


def _new_request_id() -> str:
    """``req-`` and a version 4 UUID, as ``f"req-{uuid.uuid4()}"`` (without building a UUID object)."""
    h = os.urandom(16).hex()
    return f"req-{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


#: the variant bits of a UUID (10xx) set on the first hex digit of its fourth group
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _masked_uri(uri: str) -> str:
    return _mask_uri_cached(uri) if len(uri) <= 512 else mask(uri)


_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIXES = sorted(((prefix, service) for service, prefix in MOUNTS.items()), key=lambda p: -len(p[0]))


def service_of(path: str) -> str | None:
    for prefix, service in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


#: Where a region other than the first is served: ``/regions/<name>/compute/v2.1/...``.
REGION_PREFIX = urls.REGION_PREFIX


class RequestContextMiddleware:
    """Sets ``req.context`` region, service and request id; echoes the id; enforces the body limit.

    Every configured cloud is a region. The first is served at the root; the others under
    ``/regions/<name>``, a prefix stripped here so one set of routes serves every region.
    """

    def __init__(self, max_body_bytes: int, regions: list[str], max_json_depth: int = 32):
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.regions = regions

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        req.context.region = self.regions[0]
        if req.path.startswith(REGION_PREFIX):
            name, _, rest = req.path[len(REGION_PREFIX):].partition("/")
            if name in self.regions:
                req.context.region = name
                req.path = "/" + rest
        req.context.region_ref = urls.set_region_prefix(urls.prefix_for(req.context.region, self.regions))
        req.context.service = service_of(req.path)
        given = req.get_header("X-OpenStack-Request-ID")
        request_id = given if given and _REQUEST_ID_RE.match(given) else _new_request_id()
        req.context.request_id = request_id
        req.context.token_ref = REQUEST_ID.set(request_id)
        req.context.max_body_bytes = self.max_body_bytes
        req.context.max_json_depth = self.max_json_depth

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict) -> None:
        """Refuse an oversized body before anything reads it (resources that stream opt out)."""
        if req.method in getattr(resource, "streaming_methods", ()):
            return
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise faults.TooLarge()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        request_id = getattr(req.context, "request_id", None)
        if request_id:
            resp.set_header("X-OpenStack-Request-ID", request_id)
            if req.context.service == "compute":
                resp.set_header("X-Compute-Request-ID", request_id)
        started = getattr(req.context, "started", None)
        if started is not None and LOG.isEnabledFor(logging.INFO):  # nothing built for a line not logged
            LOG.info('%s "%s %s" status: %s time: %.4f', req.remote_addr, req.method, _masked_uri(req.relative_uri),
                     resp.status_code, time.perf_counter() - started)
        token_ref = getattr(req.context, "token_ref", None)
        if token_ref is not None:
            REQUEST_ID.reset(token_ref)
        region_ref = getattr(req.context, "region_ref", None)
        if region_ref is not None:
            urls.reset_region_prefix(region_ref)


class PolicyMiddleware:
    """Makes the app's loaded policy (the rules each service declares, loaded by the app factory)
    the current one while a request is served (:func:`overcast.core.policy.current`)."""

    def __init__(self, rules: policy.Policy):
        self.rules = rules

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.policy_token = policy.use(self.rules)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        token = getattr(req.context, "policy_token", None)
        if token is not None:
            req.context.policy_token = None
            policy.done(token)


class TransactionMiddleware:
    """Every request is one transaction: it commits only when the answer is not a 5xx.

    The unit starts before the responder runs (after routing, so resources that stream their
    body, such as image uploads, can opt out with ``streaming_methods``: they must not hold a
    transaction open while data flows). Before committing, the response body is rendered: a body
    that cannot be rendered turns the answer into the service's 500 and nothing is committed, so
    no request can store what later breaks a list. This runs its ``process_response`` before the
    access log's, which therefore logs the status the client gets.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        forget_unit()
        req.context.unit = None

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict) -> None:
        if req.method in getattr(resource, "streaming_methods", ()):
            return
        req.context.unit = begin_unit()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "unit", None)
        if started is None:
            return
        req.context.unit = None
        unit, token = started
        commit = resp.status_code < 500
        if commit and resp.stream is None:
            try:
                resp.render_body()
            except Exception:  # noqa: BLE001 - any failure to render is the server's 500
                LOG.exception("cannot render the response to %s %s; nothing is committed",
                              req.method, req.path)
                commit = False
                _answer_500(req, resp)
        try:
            end_unit(unit, token, commit)
        except Exception:  # noqa: BLE001 - a failed commit is the server's 500
            LOG.exception("cannot commit %s %s", req.method, req.path)
            _answer_500(req, resp)


def _answer_500(req: falcon.Request, resp: falcon.Response) -> None:
    """Replace whatever the responder set with the service's 500 fault."""
    _, body = faults.render(getattr(req.context, "service", None), faults.Fault(500, faults.UNEXPECTED))
    resp.status = falcon.HTTP_500
    resp.text = None
    resp.media = None
    resp.stream = None
    resp.data = media.dumps(body)
    resp.content_type = falcon.MEDIA_JSON


class AuthMiddleware:
    """Validates ``X-Auth-Token`` and puts the caller in ``req.context.auth``.

    Resources list the verbs anyone may call in ``public_methods`` (version documents, token
    issue). Everything else needs a valid token, including paths that match no route, so a bad
    token is 401 on every service prefix, as behind keystonemiddleware.
    """

    def __init__(self, tokens: Any):
        self.tokens = tokens

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.auth = None
        req.context.authenticate = self.authenticate  # for sinks, which skip process_resource

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict) -> None:
        public = req.method in getattr(resource, "public_methods", ())
        token = req.get_header("X-Auth-Token")
        if public:
            if token:
                try:
                    req.context.auth = self.tokens.validate(token)
                except TokenError:
                    pass  # a public call ignores a stale token, as Keystone does for discovery
            return
        self.authenticate(req)

    def authenticate(self, req: falcon.Request) -> None:
        """:raises faults.Unauthorized: no token, or a bad, expired or revoked one."""
        token = req.get_header("X-Auth-Token")
        if not token:
            raise faults.Unauthorized()
        try:
            req.context.auth = self.tokens.validate(token)
        except TokenError as exc:
            raise faults.Unauthorized(str(exc)) from None


class NoTrailingSlash:
    """Falcon strips a trailing slash before routing, which Keystone's and Neutron's clients rely
    on. The ``routes`` mappers of Nova, Glance and Cinder match no path that ends in one: Nova's
    ``GET /os-simple-tenant-usage/`` or ``DELETE /images/`` (an empty id) find no route, so for
    ``services`` such a path is 404 here too, once the token is checked (this runs after
    :class:`AuthMiddleware`). Resources those services do answer with a slash (their version
    documents) set ``accepts_trailing_slash``.
    """

    def __init__(self, services: set[str]):
        self.services = services

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict) -> None:
        """:raises faults.NotFound: a path of one of ``services`` that ends in a slash."""
        if (req.context.service in self.services and req.env.get("PATH_INFO", "").endswith("/")
                and not getattr(resource, "accepts_trailing_slash", False)):
            raise faults.NotFound("The resource could not be found.")
