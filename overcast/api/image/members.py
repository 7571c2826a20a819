"""Image members: ``/v2/images/{id}/members[/{member_id}]`` (share, accept/reject, unshare)."""

from __future__ import annotations

import falcon

from overcast.api import faults
from overcast.api.image.views import member_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.image import ImageCore, members


def _field(req: falcon.Request, name: str, missing: str) -> object:
    body = read_json(req)
    if not isinstance(body, dict) or name not in body:
        raise faults.BadRequest(missing)
    return body[name]


class Members:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            found = members.list_members(session, req.context.auth, image_id, region=req.context.region)
            resp.media = {"members": [member_view(m) for m in found], "schema": "/v2/schemas/members"}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        member_id = _field(req, "member", "Member to be added not specified")
        if not isinstance(member_id, str) or not member_id:
            raise faults.BadRequest("Member can't be empty")
        with self.core.store.session() as session:
            member = members.add_member(session, req.context.auth, image_id, member_id, region=req.context.region)
            resp.media = member_view(member)


class Member:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str, member_id: str) -> None:
        with self.core.store.session() as session:
            member = members.get_member(session, req.context.auth, image_id, member_id, region=req.context.region)
            resp.media = member_view(member)

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str, member_id: str) -> None:
        status = _field(req, "status", "Status not specified")
        with self.core.store.session() as session:
            member = members.update_member(session, req.context.auth, image_id, member_id, status,
                                           region=req.context.region)
            resp.media = member_view(member)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str, member_id: str) -> None:
        with self.core.store.session() as session:
            members.remove_member(session, req.context.auth, image_id, member_id, region=req.context.region)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_image_members", Members(core))
    registry.bind("image", "v2_image_member", Member(core))
