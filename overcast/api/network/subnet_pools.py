"""Subnet pools (``/v2.0/subnetpools``) and address scopes (``/v2.0/address-scopes``): their
request attributes and views, bound to the generic collection and item responders."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.network.common import BOOL, INTEGER, NAME, UUID, Kind, standard
from overcast.core.network import address_scopes, subnet_pools
from overcast.store.network import AddressScope, SubnetPool

_OWNER = {"tenant_id": UUID, "project_id": UUID}
_DESCRIPTION = {"description": {"type": "string", "maxLength": 255}}
_PREFIXLEN = INTEGER
_SCOPE_ID = {"type": ["string", "null"], "maxLength": 64}

POOL_UPDATE: dict[str, Any] = {
    "name": NAME, "prefixes": {"type": "array", "items": {"type": "string", "maxLength": 64}},
    "default_prefixlen": _PREFIXLEN, "min_prefixlen": _PREFIXLEN, "max_prefixlen": _PREFIXLEN,
    "default_quota": {**INTEGER, "type": ["integer", "string", "null"]}, "is_default": BOOL,
    "address_scope_id": _SCOPE_ID, **_DESCRIPTION}
POOL_CREATE = {**POOL_UPDATE, **_OWNER, "shared": BOOL}

SCOPE_UPDATE: dict[str, Any] = {"name": NAME, "shared": BOOL}
SCOPE_CREATE = {**SCOPE_UPDATE, **_OWNER, "ip_version": {"type": "integer", "enum": [4, 6]}}


def subnet_pool(req: falcon.Request, session: Session, pool: SubnetPool) -> dict[str, Any]:
    return {"id": pool.id, "name": pool.name, "ip_version": pool.ip_version, "prefixes": list(pool.prefixes),
            "default_prefixlen": pool.default_prefixlen, "min_prefixlen": pool.min_prefixlen,
            "max_prefixlen": pool.max_prefixlen, "default_quota": pool.default_quota, "shared": pool.shared,
            "is_default": pool.is_default, "address_scope_id": pool.address_scope_id, **standard(pool)}


def address_scope(req: falcon.Request, session: Session, scope: AddressScope) -> dict[str, Any]:
    """Address scopes have no tags (not a standard-attr-tag resource) nor timestamps in Neutron."""
    return {"id": scope.id, "name": scope.name, "ip_version": scope.ip_version, "shared": scope.shared,
            "tenant_id": scope.project_id, "project_id": scope.project_id}


def _columns(model: Any, *names: str) -> dict[str, Any]:
    columns = {name: getattr(model, name) for name in ("id", "project_id", "name", "ip_version", "shared", *names)}
    return {**columns, "tenant_id": model.project_id}


KINDS: tuple[Kind, ...] = (
    Kind("subnetpools", "subnetpool", subnet_pool, subnet_pools, POOL_CREATE, POOL_UPDATE, required=("prefixes",),
         integers=("default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota"),
         columns=_columns(SubnetPool, "description", "revision_number", "default_prefixlen", "min_prefixlen",
                          "max_prefixlen", "default_quota", "is_default", "address_scope_id")),
    Kind("address_scopes", "address_scope", address_scope, address_scopes, SCOPE_CREATE, SCOPE_UPDATE,
         required=("name", "ip_version"), url="address-scopes", columns=_columns(AddressScope)),
)
