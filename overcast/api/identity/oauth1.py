"""``/v3/OS-OAUTH1/consumers[/{consumer_id}]``."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import oauth1 as core_oauth1
from overcast.store.models import OAuth1Consumer

_CONSUMER = {"type": "object", "properties": {"description": {"type": ["string", "null"], "maxLength": 64000}},
             "additionalProperties": True}
CREATE_SCHEMA = {"type": "object", "required": ["consumer"],
                 "properties": {"consumer": _CONSUMER}}
UPDATE_SCHEMA = {"type": "object", "required": ["consumer"], "properties": {"consumer": _CONSUMER}}


def consumer_view(links: Links, consumer: OAuth1Consumer) -> dict[str, Any]:
    return {**consumer.extra, "id": consumer.id, "description": consumer.description,
            "links": links.self_link(f"/OS-OAUTH1/consumers/{consumer.id}")}


class Consumers:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_consumers")
        with self.core.store.session() as session:
            views = [consumer_view(self.links, c) for c in core_oauth1.list_consumers(session)]
        resp.media = {"consumers": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_consumer")
        body = read_json(req, CREATE_SCHEMA)["consumer"]
        consumer, secret = core_oauth1.create(self.core, body)
        resp.status = falcon.HTTP_201
        resp.media = {"consumer": {**consumer_view(self.links, consumer), "secret": secret}}


class Consumer:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:get_consumer")
        with self.core.store.session() as session:
            resp.media = {"consumer": consumer_view(self.links, core_oauth1.get(session, consumer_id))}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:update_consumer")
        body = read_json(req, UPDATE_SCHEMA)["consumer"]
        with self.core.store.session() as session:
            resp.media = {"consumer": consumer_view(self.links, core_oauth1.update(session, consumer_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:delete_consumer")
        with self.core.store.session() as session:
            core_oauth1.delete(session, consumer_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_oauth1_consumers", Consumers(core, links))
    registry.bind("identity", "v3_oauth1_consumer", Consumer(core, links))
