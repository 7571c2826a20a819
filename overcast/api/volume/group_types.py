"""/group_types (3.11+) and their group specs: wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import caller, enforce, is_public_filter, page, parse_bool, require
from overcast.api.volume.specs import Kind, Spec, Specs
from overcast.core.volume import VolumeCore
from overcast.core.volume import group_types as core
from overcast.store.volume import GroupType

GROUP_TYPES = "3.11"
MANAGE = "group:group_types_manage"
GROUP_SPECS = Kind("group_specs", "group_type_id", "group:group_types_specs", core.get, core.missing_spec,
                   schemas.GROUP_SPECS_BODY, created=falcon.HTTP_202, since=GROUP_TYPES)


def view(req: falcon.Request, gtype: GroupType) -> dict[str, Any]:
    body: dict[str, Any] = {"id": gtype.id, "name": gtype.name, "description": gtype.description,
                            "is_public": gtype.is_public}
    if caller(req).is_admin:
        body["group_specs"] = dict(gtype.group_specs or {})
    return body


class GroupTypes:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, GROUP_TYPES)
        with self.core.store.session() as session:
            rows, _full = core.list_types(session, caller(req), page(req, core.SORT_KEYS), is_public_filter(req))
            resp.media = {"group_types": [view(req, t) for t in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, GROUP_TYPES)
        enforce(req, MANAGE)
        body = read_json(req, schemas.CREATE_GROUP_TYPE)["group_type"]
        with self.core.store.session() as session:
            gtype = core.create(session, name=body["name"], description=body.get("description"),
                                is_public=parse_bool("is_public", body.get("is_public", True)),
                                group_specs=body.get("group_specs") or {})
            resp.media = {"group_type": view(req, gtype)}
        resp.status = falcon.HTTP_202


class GroupTypeItem:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, group_type_id: str, **_: str) -> None:
        require(req, GROUP_TYPES)
        with self.core.store.session() as session:
            resp.media = {"group_type": view(req, core.get(session, caller(req), group_type_id))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, group_type_id: str, **_: str) -> None:
        require(req, GROUP_TYPES)
        ctx = enforce(req, MANAGE)
        body = read_json(req, schemas.UPDATE_GROUP_TYPE)["group_type"]
        public = body.get("is_public")
        with self.core.store.session() as session:
            gtype = core.update(session, core.get(session, ctx, group_type_id), name=body.get("name"),
                                description=body.get("description"),
                                is_public=None if public is None else parse_bool("is_public", public))
            resp.media = {"group_type": view(req, gtype)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_type_id: str, **_: str) -> None:
        require(req, GROUP_TYPES)
        ctx = enforce(req, MANAGE)
        with self.core.store.session() as session:
            core.delete(session, core.get(session, ctx, group_type_id))
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "group_types", GroupTypes(core_))
    registry.bind("volume", "group_type", GroupTypeItem(core_))
    registry.bind("volume", "group_type_specs", Specs(core_, GROUP_SPECS))
    registry.bind("volume", "group_type_spec", Spec(core_, GROUP_SPECS))
