"""/qos-specs, their keys and their volume type associations (admin only): wire format only.

Cinder answers associate, disassociate and disassociate_all to GET, with 202 and no body.
"""

from __future__ import annotations

from typing import Any, Callable

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import Links, caller, enforce, one, page, parse_bool
from overcast.core.volume import VolumeCore
from overcast.core.volume import qos as core
from overcast.core.volume import types
from overcast.store.volume import QosSpecs, VolumeType

POLICY = "volume_extension:qos_specs_manage:"


def view(qos: QosSpecs) -> dict[str, Any]:
    return {"id": qos.id, "name": qos.name, "consumer": qos.consumer, "specs": dict(qos.specs or {})}


class _Base:
    def __init__(self, core_: VolumeCore, links: Links):
        self.core, self.links = core_, links

    def show(self, req: falcon.Request, qos: QosSpecs) -> dict[str, Any]:
        return {"qos_specs": view(qos), "links": self.links.pair(caller(req).project_id, "qos-specs", qos.id)}


class QosSpecsList(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, POLICY + "get_all")
        filters = {key: value for key in core.FILTERS if (value := one(req, key)) is not None}
        with self.core.store.session() as session:
            rows, full = core.list_specs(session, page(req, core.SORT_KEYS), filters)
            resp.media = {"qos_specs": [view(q) for q in rows]}
            if full and rows:
                resp.media["qos_specs_links"] = self.links.next_page(req, "qos-specs", rows[-1].id)

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, POLICY + "create")
        values = dict(read_json(req, schemas.CREATE_QOS_SPECS)["qos_specs"])
        with self.core.store.session() as session:
            resp.media = self.show(req, core.create(session, values.pop("name"), values))


class QosSpecsItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "get")
        with self.core.store.session() as session:
            resp.media = self.show(req, core.get(session, qos_id))

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "update")
        body = read_json(req, schemas.SET_QOS_SPECS)
        with self.core.store.session() as session:
            core.update(core.get(session, qos_id), body["qos_specs"])
        resp.media = body

    def on_delete(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "delete")
        force = one(req, "force")
        with self.core.store.session() as session:
            core.delete(session, core.get(session, qos_id), force=force is not None and parse_bool("force", force))
        resp.status = falcon.HTTP_202


class QosSpecsKeys(_Base):
    def on_put(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "delete")
        keys = read_json(req, schemas.UNSET_QOS_SPECS)["keys"]
        with self.core.store.session() as session:
            core.delete_keys(core.get(session, qos_id), keys)
        resp.status = falcon.HTTP_202


class QosSpecsAssociations(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "get_all")
        with self.core.store.session() as session:
            rows = core.associations(session, core.get(session, qos_id))
            resp.media = {"qos_associations": [{"association_type": "volume_type", "name": t.name, "id": t.id}
                                               for t in rows]}

    on_head = on_get


class QosSpecsTypeLink(_Base):
    """``associate`` or ``disassociate`` the volume type ``?vol_type_id=``."""

    def __init__(self, core_: VolumeCore, links: Links, change: Callable[[QosSpecs, VolumeType], None]):
        super().__init__(core_, links)
        self.change = change

    def on_get(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        ctx = enforce(req, POLICY + "update")
        type_id = one(req, "vol_type_id")
        if not type_id:
            raise faults.BadRequest("Volume Type id must not be None.")
        with self.core.store.session() as session:
            qos = core.get(session, qos_id)
            self.change(qos, types.get(session, ctx, type_id))
        resp.status = falcon.HTTP_202


class QosSpecsDisassociateAll(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, qos_id: str, **_: str) -> None:
        enforce(req, POLICY + "update")
        with self.core.store.session() as session:
            core.disassociate_all(session, core.get(session, qos_id))
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore, links: Links) -> None:
    registry.bind("volume", "qos_specs", QosSpecsList(core_, links))
    registry.bind("volume", "qos_spec", QosSpecsItem(core_, links))
    registry.bind("volume", "qos_spec_delete_keys", QosSpecsKeys(core_, links))
    registry.bind("volume", "qos_spec_associations", QosSpecsAssociations(core_, links))
    registry.bind("volume", "qos_spec_associate", QosSpecsTypeLink(core_, links, core.associate))
    registry.bind("volume", "qos_spec_disassociate", QosSpecsTypeLink(core_, links, core.disassociate))
    registry.bind("volume", "qos_spec_disassociate_all", QosSpecsDisassociateAll(core_, links))
