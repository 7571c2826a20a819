"""/types, /types/default, /types/{id}, extra specs and os-volume-type-access: wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import caller, enforce, is_public_filter, parse_bool
from overcast.api.volume.specs import Kind, Spec, Specs
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore
from overcast.core.volume import types as core

MANAGE = "volume_extension:types_manage"
EXTRA_SPECS = Kind("extra_specs", "type_id", MANAGE, core.get, core.missing_spec, schemas.EXTRA_SPECS_BODY)


class _Base:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def show(self, req: falcon.Request, vtype: Any, access: bool = True, qos: bool = False) -> dict[str, Any]:
        return {"volume_type": VolumeViews.volume_type(req, vtype, access=access, qos=qos)}


class Types(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "volume_extension:type_get_all")
        with self.core.store.session() as session:
            rows = core.list_types(session, ctx, is_public_filter(req))
            resp.media = {"volume_types": [VolumeViews.volume_type(req, t, qos=True) for t in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, MANAGE)
        body = read_json(req, schemas.CREATE_TYPE)["volume_type"]
        public = body.get("os-volume-type-access:is_public", body.get("is_public", True))
        with self.core.store.session() as session:
            vtype = core.create(session, name=body["name"], description=body.get("description"),
                                is_public=parse_bool("is_public", public), extra_specs=body.get("extra_specs") or {})
            resp.media = self.show(req, vtype)


class DefaultType(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:type_get")
        with self.core.store.session() as session:
            resp.media = self.show(req, core.default(session), qos=True)

    on_head = on_get


class TypeItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        enforce(req, "volume_extension:type_get")
        with self.core.store.session() as session:
            resp.media = self.show(req, core.get(session, caller(req), type_id), qos=True)

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        ctx = enforce(req, MANAGE)
        body = read_json(req, schemas.UPDATE_TYPE)["volume_type"]
        if not any(body.get(k) is not None for k in ("name", "description", "is_public")) and "description" not in body:
            raise faults.BadRequest("Specify volume type name, description, is_public or a combination thereof.")
        public = body.get("is_public")
        with self.core.store.session() as session:
            vtype = core.update(session, core.get(session, ctx, type_id), name=body.get("name"),
                                description=body.get("description"),
                                is_public=None if public is None else parse_bool("is_public", public))
            resp.media = self.show(req, vtype, access=False)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        ctx = enforce(req, MANAGE)
        with self.core.store.session() as session:
            core.delete(session, core.get(session, ctx, type_id))
        resp.status = falcon.HTTP_202


class TypeAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        body = read_json(req)
        name = next(iter(body), None) if isinstance(body, dict) else None
        if name not in ("addProjectAccess", "removeProjectAccess"):
            raise faults.BadRequest(f"There is no such action: {name}")
        args = body[name] if isinstance(body[name], dict) else {}
        if not args.get("project"):
            raise faults.BadRequest("Access list not available for public volume types.")
        ctx = enforce(req, f"volume_extension:volume_type_access:{name}")
        with self.core.store.session() as session:
            vtype = core.get(session, ctx, type_id)
            (core.add_access if name == "addProjectAccess" else core.remove_access)(vtype, str(args["project"]))
        resp.status = falcon.HTTP_202


class TypeAccess(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        ctx = enforce(req, "volume_extension:volume_type_access")
        with self.core.store.session() as session:
            vtype = core.get(session, ctx, type_id)
            if vtype.is_public:
                raise faults.NotFound("Access list not available for public volume types.")
            resp.media = {"volume_type_access": [{"volume_type_id": vtype.id, "project_id": p.project_id}
                                                 for p in vtype.projects]}

    on_head = on_get


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "types", Types(core_))
    registry.bind("volume", "types_default", DefaultType(core_))
    registry.bind("volume", "type", TypeItem(core_))
    registry.bind("volume", "type_action", TypeAction(core_))
    registry.bind("volume", "type_access", TypeAccess(core_))
    registry.bind("volume", "type_extra_specs", Specs(core_, EXTRA_SPECS))
    registry.bind("volume", "type_extra_spec", Spec(core_, EXTRA_SPECS))
