"""The specs of a type: volume types' extra specs (``/types/{type_id}/extra_specs[/{key}]``) and
group types' group specs (``/group_types/{group_type_id}/group_specs[/{key}]``). Wire format only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import falcon

from overcast.api import faults
from overcast.api.validation import read_json
from overcast.api.volume.common import enforce, require
from overcast.core.context import AuthContext
from overcast.core.volume import VolumeCore
from overcast.core.volume import specs as core


@dataclass(frozen=True)
class Kind:
    """Whose specs: the attribute (also the body's key), the URL's id parameter, the policy, how to
    fetch the type (raising NotFound), the message of a missing key, what a POST answers and the
    microversion they came with."""

    attribute: str
    id_param: str
    policy: str
    fetch: Callable[[Any, AuthContext, str], Any]
    missing: Callable[[Any, str], str]
    body_schema: Mapping[str, Any]
    created: str = falcon.HTTP_200
    since: str | None = None


class _Base:
    def __init__(self, volume_core: VolumeCore, kind: Kind):
        self.core, self.kind = volume_core, kind

    def record(self, req: falcon.Request, session: Any, params: Mapping[str, str]) -> Any:
        """:raises faults.NotFound: before the microversion. :raises Forbidden: the policy says no.
        :raises NotFound: no such type."""
        if self.kind.since:
            require(req, self.kind.since)
        return self.kind.fetch(session, enforce(req, self.kind.policy), params[self.kind.id_param])


class Specs(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        with self.core.store.session() as session:
            resp.media = {self.kind.attribute: dict(getattr(self.record(req, session, params), self.kind.attribute)
                                                    or {})}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        values = read_json(req, self.kind.body_schema)[self.kind.attribute]
        with self.core.store.session() as session:
            core.merge(self.record(req, session, params), self.kind.attribute, values)
        resp.media = {self.kind.attribute: {k: str(v) for k, v in values.items()}}
        resp.status = self.kind.created


class Spec(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, key: str, **params: str) -> None:
        with self.core.store.session() as session:
            record = self.record(req, session, params)
            resp.media = {key: core.item(record, self.kind.attribute, key, self.kind.missing(record, key))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, key: str, **params: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.BadRequest("Request body contains too many items.")
        if key not in body:
            raise faults.BadRequest("Request body and URI mismatch")
        with self.core.store.session() as session:
            core.merge(self.record(req, session, params), self.kind.attribute, body)
        resp.media = {key: str(body[key])}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, key: str, **params: str) -> None:
        with self.core.store.session() as session:
            record = self.record(req, session, params)
            core.remove(record, self.kind.attribute, key, self.kind.missing(record, key))
        resp.status = falcon.HTTP_202
