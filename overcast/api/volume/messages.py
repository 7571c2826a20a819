"""/messages (3.3+; filters, sorting and paging 3.5+): user messages. Wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.volume.common import Links, at_least, caller, enforce, one, page, require
from overcast.api.volume.views import timestamp
from overcast.core.volume import VolumeCore
from overcast.core.volume import messages as core
from overcast.core.volume.listing import Page
from overcast.store.volume import VolumeMessage

MESSAGES, FILTERS = "3.3", "3.5"


class _Base:
    def __init__(self, core_: VolumeCore, links: Links):
        self.core, self.links = core_, links

    def view(self, message: VolumeMessage) -> dict[str, Any]:
        return {"id": message.id, "resource_type": message.resource_type, "resource_uuid": message.resource_uuid,
                "request_id": message.request_id or "", "message_level": message.message_level,
                "event_id": message.event_id, "user_message": message.user_message,
                "created_at": timestamp(message.created_at), "guaranteed_until": timestamp(message.expires_at),
                "links": self.links.pair(message.project_id, "messages", message.id)}


class Messages(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, MESSAGES)
        ctx = enforce(req, "message:get_all")
        filtered = at_least(req, FILTERS)
        with self.core.store.session() as session:
            rows, _full = core.list_messages(
                session, ctx, page(req, core.SORT_KEYS) if filtered else Page(),
                resource_uuid=one(req, "resource_uuid") if filtered else None,
                event_id=one(req, "event_id") if filtered else None)
            resp.media = {"messages": [self.view(m) for m in rows]}

    on_head = on_get


class Message(_Base):
    def _message(self, req: falcon.Request, session: Any, message_id: str, action: str) -> VolumeMessage:
        require(req, MESSAGES)
        message = core.get(session, caller(req), message_id)
        enforce(req, action, {"project_id": message.project_id})
        return message

    def on_get(self, req: falcon.Request, resp: falcon.Response, message_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            resp.media = {"message": self.view(self._message(req, session, message_id, "message:get"))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, message_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            core.delete(session, self._message(req, session, message_id, "message:delete"))
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core_: VolumeCore, links: Links) -> None:
    registry.bind("volume", "messages", Messages(core_, links))
    registry.bind("volume", "message", Message(core_, links))
