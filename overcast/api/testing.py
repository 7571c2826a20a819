"""``/_overcast``: what test suites ask of a cloud double, for admins, when ``[testing] admin_api`` is on
(docs/decisions/0035 and 0036). Off, none of these paths exists.

- ``POST /_overcast/reset``: back to the state the first start made.
- ``GET|POST /_overcast/states``, ``POST /_overcast/states/{name}/load``, ``DELETE /_overcast/states/{name}``.
- ``GET|POST|DELETE /_overcast/faults``, ``DELETE /_overcast/faults/{fault_id}``.

Also :class:`FaultMiddleware`, which answers requests an ``http`` fault rule matches.
"""

from __future__ import annotations

import json

from typing import Any

import falcon

from overcast.api import faults as api_faults
from overcast.api.validation import read_json
from overcast.config import Settings
from overcast.core import state
from overcast.core.errors import Forbidden
from overcast.core.faults import FaultBook
from overcast.store.db import Store

PREFIX = "/_overcast"


def _admin(req: falcon.Request) -> None:
    ctx = req.context.auth
    if ctx is None or not ctx.is_admin:
        raise Forbidden("The testing API is for administrators.")


def _object(req: falcon.Request, key: str) -> dict[str, Any]:
    body = read_json(req)
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise api_faults.BadRequest(f"The request body must be an object with a {key!r} object.")
    return body[key]


class Reset:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _admin(req)
        took = state.reset(self.settings, self.store)
        resp.media = {"reset": {"state": state.BOOTSTRAP, "seconds": round(took, 3)}}


def _state_view(info: state.StateInfo) -> dict[str, Any]:
    return {"name": info.name, "saved_at": info.saved_at, "rows": info.rows}


class States:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _admin(req)
        resp.media = {"states": [_state_view(i) for i in state.states(self.settings)]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _admin(req)
        name = _object(req, "state").get("name")
        if not isinstance(name, str):
            raise api_faults.BadRequest("Invalid input for field/attribute name: a string is required.")
        resp.media = {"state": _state_view(state.save(self.settings, self.store, name))}
        resp.status = falcon.HTTP_201


class StateLoad:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        _admin(req)
        took = state.load(self.settings, self.store, name)
        resp.media = {"state": {"name": name, "seconds": round(took, 3)}}


class State:
    def __init__(self, settings: Settings):
        self.settings = settings

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        _admin(req)
        state.delete(self.settings, name)
        resp.status = falcon.HTTP_204


class Faults:
    def __init__(self, book: FaultBook):
        self.book = book

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _admin(req)
        resp.media = {"faults": self.book.rules()}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _admin(req)
        resp.media = {"fault": self.book.add(_object(req, "fault"))}
        resp.status = falcon.HTTP_201

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Remove every fault made through this API (those of the configuration stay)."""
        _admin(req)
        self.book.clear("api")
        resp.status = falcon.HTTP_204


class Fault:
    def __init__(self, book: FaultBook):
        self.book = book

    def on_delete(self, req: falcon.Request, resp: falcon.Response, fault_id: int) -> None:
        _admin(req)
        self.book.remove(fault_id)
        resp.status = falcon.HTTP_204


class FaultMiddleware:
    """Answers a request with the status an ``http`` fault rule gives it (after authentication,
    so the body is the service's own error document and the endpoint is known), and cuts a list
    answer short as a ``truncate`` rule says (its first items only, no next-page link)."""

    def __init__(self, book: FaultBook, endpoint_of: Any):
        self.book = book
        self.endpoint_of = endpoint_of

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict) -> None:
        endpoint = self.endpoint_of(req)
        if endpoint is None:  # only OpenStack API endpoints (not /, /metrics, /_overcast)
            return
        answer = self.book.for_request(endpoint, req.method)
        if answer is not None:
            status, message = answer
            headers = {"Retry-After": "1"} if status == 503 else None
            raise api_faults.Fault(status, message, headers=headers)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        if not req_succeeded or resource is None or req.method != "GET":
            return
        media = resp.media
        if media is None and resp.data:  # answered from the response cache: already serialized
            try:
                media = json.loads(resp.data)
            except ValueError:
                return
        if not isinstance(media, dict) or not any(isinstance(v, list) for v in media.values()):
            return
        endpoint = self.endpoint_of(req)
        if endpoint is None:
            return
        keep = self.book.truncation(endpoint, req.method)
        if keep is None:
            return
        resp.data = None
        resp.media = {key: value[:keep] if isinstance(value, list) else value for key, value in media.items()
                      if not (key.endswith("_links") or key == "next")}


def mount(app: falcon.App, settings: Settings, store: Store, book: FaultBook) -> None:
    app.add_route(f"{PREFIX}/reset", Reset(settings, store))
    app.add_route(f"{PREFIX}/states", States(settings, store))
    app.add_route(f"{PREFIX}/states/{{name}}/load", StateLoad(settings, store))
    app.add_route(f"{PREFIX}/states/{{name}}", State(settings))
    app.add_route(f"{PREFIX}/faults", Faults(book))
    app.add_route(f"{PREFIX}/faults/{{fault_id:int}}", Fault(book))
