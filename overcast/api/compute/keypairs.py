"""``/os-keypairs``: generate or import, list (2.35 paging), show, delete; 2.2 types, 2.10 user_id."""

from __future__ import annotations

import re
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, caller, enforce
from overcast.api.compute.flavors import limit_marker, next_links
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import keypairs as rules
from overcast.store.compute import KeyPair

_SAFE_NAME = re.compile(r"^[a-zA-Z0-9 _-]+$")
#: 2.92: names may also hold ``@`` and ``.``, and the key must be imported (Nova no longer generates one)
_SAFE_NAME_292 = re.compile(r"^[a-zA-Z0-9 @._-]+$")
IMPORT_ONLY = "2.92"


def create_schema(req: falcon.Request) -> dict[str, Any]:
    props: dict[str, Any] = {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                             "public_key": {"type": "string"}}
    if at_least(req, "2.2"):
        props["type"] = {"type": "string", "enum": list(rules.TYPES)}
    if at_least(req, "2.10"):
        props["user_id"] = {"type": "string", "minLength": 1, "maxLength": 255}
    required = ["name", "public_key"] if at_least(req, IMPORT_ONLY) else ["name"]
    return {"type": "object", "required": ["keypair"], "additionalProperties": False,
            "properties": {"keypair": {"type": "object", "required": required, "properties": props,
                                       "additionalProperties": False}}}


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def keypair_view(req: falcon.Request, keypair: KeyPair, *, full: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if at_least(req, "2.2"):
        view["type"] = keypair.type
    if full:
        view.update(user_id=keypair.user_id, deleted=False, created_at=_iso(keypair.created_at),
                    updated_at=None, deleted_at=None, id=keypair.id)
    return view


def _target_user(req: falcon.Request, given: str | None = None) -> str:
    ctx = caller(req)
    if at_least(req, "2.10"):
        return given or req.get_param("user_id") or ctx.user_id
    return ctx.user_id


class KeyPairs:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        user_id = _target_user(req)
        enforce(req, "compute:keypairs:index", {"user_id": user_id})
        paged = at_least(req, "2.35")
        limit, marker = limit_marker(req) if paged else (None, None)
        with self.core.store.session() as session:
            found = rules.list_keypairs(session, user_id, region=req.context.region, limit=limit, marker=marker)
            body: dict[str, Any] = {"keypairs": [{"keypair": keypair_view(req, k)} for k in found]}
        if paged and limit is not None:
            links = next_links(req, self.links, "os-keypairs", found, limit, lambda k: k.name)
            if links:
                body["keypairs_links"] = links
        resp.media = body

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ref = read_json(req, create_schema(req))["keypair"]
        user_id = _target_user(req, ref.get("user_id"))
        ctx = enforce(req, "compute:keypairs:create", {"user_id": user_id})
        name = ref["name"]
        if not (_SAFE_NAME_292 if at_least(req, IMPORT_ONLY) else _SAFE_NAME).match(name):
            raise faults.BadRequest("Keypair data is invalid: Keypair name contains unsafe characters")
        with self.core.store.session() as session:
            keypair, private_key = rules.create(
                session, user_id=user_id, project_id=ctx.project_id, name=name, region=req.context.region,
                key_type=ref.get("type", "ssh"), public_key=ref.get("public_key"))
            view = keypair_view(req, keypair)
        view["user_id"] = user_id
        if private_key is not None:
            view["private_key"] = private_key
        resp.status = falcon.HTTP_201 if at_least(req, "2.2") else falcon.HTTP_200
        resp.media = {"keypair": view}


class KeyPairItem:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, keypair_name: str, **_: str) -> None:
        user_id = _target_user(req)
        enforce(req, "compute:keypairs:show", {"user_id": user_id})
        with self.core.store.session() as session:
            found = rules.find(session, user_id, keypair_name, region=req.context.region)
            resp.media = {"keypair": keypair_view(req, found, full=True)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, keypair_name: str, **_: str) -> None:
        user_id = _target_user(req)
        enforce(req, "compute:keypairs:delete", {"user_id": user_id})
        with self.core.store.session() as session:
            rules.delete(session, user_id, keypair_name, region=req.context.region)
        resp.status = falcon.HTTP_204 if at_least(req, "2.2") else falcon.HTTP_202


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_keypairs", KeyPairs(core, links))
    registry.bind("compute", "v2_os_keypair", KeyPairItem(core, links))
