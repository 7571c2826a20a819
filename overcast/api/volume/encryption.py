"""/types/{type_id}/encryption and /types/{type_id}/encryption/{encryption_id}: wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import enforce
from overcast.api.volume.views import timestamp
from overcast.core.volume import VolumeCore
from overcast.core.volume import encryption as core
from overcast.core.volume import types
from overcast.store.volume import VolumeType, VolumeTypeEncryption

POLICY = "volume_extension:volume_type_encryption:"


def _fields(encryption: VolumeTypeEncryption) -> dict[str, Any]:
    return {"volume_type_id": encryption.volume_type_id, "encryption_id": encryption.encryption_id,
            **{name: getattr(encryption, name) for name in core.FIELDS}}


class _Base:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    @staticmethod
    def vtype(req: falcon.Request, session: Any, type_id: str, action: str) -> VolumeType:
        """:raises Forbidden: not an admin. :raises NotFound: no such type."""
        return types.get(session, enforce(req, POLICY + action), type_id)


class Encryption(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            encryption = self.vtype(req, session, type_id, "get").encryption
            resp.media = {} if encryption is None else {
                **_fields(encryption), "deleted": False, "created_at": timestamp(encryption.created_at),
                "updated_at": timestamp(encryption.updated_at), "deleted_at": None}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, type_id: str, **_: str) -> None:
        values = read_json(req, schemas.CREATE_ENCRYPTION)["encryption"]
        with self.core.store.session() as session:
            resp.media = {"encryption": _fields(core.create(session, self.vtype(req, session, type_id, "create"),
                                                            values))}


class EncryptionItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, type_id: str, encryption_id: str,
               **_: str) -> None:
        """One field of the encryption: Cinder reads the last path segment as its name."""
        with self.core.store.session() as session:
            resp.media = {encryption_id: core.spec(self.vtype(req, session, type_id, "get"), encryption_id)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, type_id: str, encryption_id: str,
               **_: str) -> None:
        values = read_json(req, schemas.UPDATE_ENCRYPTION)["encryption"]
        with self.core.store.session() as session:
            core.update(session, self.vtype(req, session, type_id, "update"), encryption_id, values)
        resp.media = {"encryption": values}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, type_id: str, encryption_id: str,
                  **_: str) -> None:
        with self.core.store.session() as session:
            core.delete(session, self.vtype(req, session, type_id, "delete"), encryption_id)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "type_encryption", Encryption(core_))
    registry.bind("volume", "type_encryption_item", EncryptionItem(core_))
