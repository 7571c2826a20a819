"""Rendered answers to reads, kept per caller until the database changes (docs/decisions/0038-read-path.md).

A ``GET`` (or ``HEAD``) of an endpoint in :data:`CACHEABLE` that answered 200 is kept with the
database's change stamp read *before* it was computed (:mod:`overcast.store.changes`). The same
request from the same caller is answered from the copy while the stamp has not moved, that is while
no write has committed anywhere since; the first read after any write computes it again.

"The same request from the same caller" is everything the answer can depend on: method, path with
its query string, region, Host, Accept, the microversion negotiated and the headers asking for one,
and the caller as the token states it (user, project, domain, system scope, roles, application
credential, trust). Faults on demand and authentication run before this middleware, so neither is
skipped by a copy.

Only endpoints whose answer is a function of the database and those inputs are listed: no answer
that depends on the time (usage, limits ...) or on a driver called while serving (console output,
diagnostics ...). Kept per process, at most :data:`SIZE` answers (least recently used dropped), only
for databases with a change stamp (SQLite); off with ``[server] response_cache = false``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import falcon

from overcast.store import changes

#: endpoints (``service:name``) whose GET answer depends only on the database, the request and the caller
CACHEABLE = frozenset({
    "compute:v2_servers", "compute:v2_servers_detail", "compute:v2_server",
    "compute:v2_flavors", "compute:v2_flavors_detail", "compute:v2_flavor",
    "compute:v2_os_extra_specs_flavor", "compute:v2_os_keypairs", "compute:v2_os_keypair",
    "volume:volumes", "volume:volumes_detail", "volume:volume", "volume:types", "volume:type",
    "volume:snapshots", "volume:snapshots_detail", "volume:snapshot",
    "network:networks", "network:networks_item", "network:ports", "network:ports_item",
    "network:subnets", "network:subnets_item", "network:routers", "network:routers_item",
    "network:security-groups", "network:security-groups_item", "network:floatingips", "network:floatingips_item",
    "image:v2_images", "image:v2_image",
})
SIZE = 512
#: answers larger than this are not kept (bytes)
MAX_BODY = 8 * 1024 * 1024
_SKIP_HEADERS = frozenset({"x-openstack-request-id", "x-compute-request-id"})


class ResponseCache:
    """The middleware (place it after authentication and fault injection)."""

    def __init__(self, stamp: Path, endpoint_of: Callable[[falcon.Request], str | None],
                 cacheable: frozenset[str] = CACHEABLE, size: int = SIZE):
        self.stamp = stamp
        self.endpoint_of = endpoint_of
        self.cacheable = cacheable
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[int, list[tuple[str, str]], bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _key(self, req: falcon.Request, endpoint: str) -> tuple | None:
        auth = req.context.auth
        if auth is None:
            return None
        return (req.method, endpoint, req.path, req.query_string, req.context.region, req.get_header("Host"),
                req.get_header("Accept"), str(req.context.microversion),
                req.get_header("OpenStack-API-Version"), req.get_header("X-OpenStack-Nova-API-Version"),
                auth.user_id, auth.project_id, auth.domain_id, auth.system, auth.roles, auth.app_cred_id,
                auth.trust_id)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict) -> None:
        if req.method not in ("GET", "HEAD"):
            return
        endpoint = self.endpoint_of(req)
        if endpoint not in self.cacheable:
            return
        key = self._key(req, endpoint)
        if key is None:
            return
        stamp = changes.read(self.stamp)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                entry = None
                self.misses += 1
        if entry is None:
            req.context.cache_slot = (key, stamp)
            return
        _, headers, body = entry
        for name, value in headers:
            resp.set_header(name, value)
        resp.data = body
        resp.complete = True  # the responder is skipped
        req.context.cache_slot = None

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        slot = getattr(req.context, "cache_slot", None)
        if not slot or not req_succeeded or resp.status_code != 200 or resp.stream is not None:
            return
        body = resp.render_body()
        if body is None or len(body) > MAX_BODY:
            return
        resp.data = body
        headers = [(name, value) for name, value in resp.headers.items() if name.lower() not in _SKIP_HEADERS]
        key, stamp = slot
        with self._lock:
            self._entries[key] = (stamp, headers, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
