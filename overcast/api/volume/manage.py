"""Cinder's manage/unmanage: /os-volume-manage, /manageable_volumes (3.8), /os-snapshot-manage,
/manageable_snapshots (3.8) and their lists (decision 0065): wire format only. ``os-unmanage`` is
an action of /volumes/{id}/action and /snapshots/{id}/action (:mod:`.volumes`, :mod:`.snapshots`)."""

from __future__ import annotations

import json
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import at_least, enforce, one, parse_bool
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore, manage
from overcast.core.volume import types as vtypes
from overcast.core.volume.listing import parse_limit, parse_offset

#: the microversion from which the manageable lists (and /manageable_* paths) are served
MANAGEABLE = "3.8"


def _not_yet(req: falcon.Request, path_from: str | None) -> None:
    """The /manageable_* paths exist from 3.8 (Cinder's 404 below)."""
    if path_from is not None and not at_least(req, path_from):
        raise faults.NotFound("The resource could not be found.")


#: Cinder's osapi_max_limit: a manageable list's page when no ``limit`` is given, and the most
MAX_LIMIT = 1000


def _sort(req: falcon.Request) -> tuple[tuple[str, str], ...]:
    """Cinder's get_sort_params with ``reference`` as default key, ``desc`` as default direction:
    ``sort=size:asc,reference`` or the older ``sort_key``/``sort_dir``. :raises faults.BadRequest:"""
    sort, sort_key, sort_dir = one(req, "sort"), one(req, "sort_key"), one(req, "sort_dir")
    if sort and (sort_key or sort_dir):
        raise faults.BadRequest("Invalid input received: The 'sort_key' and 'sort_dir' parameters are deprecated "
                                "and cannot be used with the 'sort' parameter.")
    if sort:
        pairs = [(key.strip(), (direction or "desc").strip().lower())
                 for key, _, direction in (part.partition(":") for part in sort.split(","))]
    else:
        pairs = [(key.strip(), (sort_dir or "desc").strip().lower()) for key in (sort_key or "reference").split(",")]
    bad_keys = sorted({key for key, _ in pairs} - set(manage.MANAGEABLE_SORT_KEYS))
    if bad_keys:
        raise faults.BadRequest(f"Invalid sort keys passed: {', '.join(bad_keys)}")
    bad_dirs = sorted({direction for _, direction in pairs} - {"asc", "desc"})
    if bad_dirs:
        raise faults.BadRequest(f"Invalid sort dirs passed: {', '.join(bad_dirs)}")
    return tuple(pairs)


def _marker(req: falcon.Request) -> dict[str, Any] | None:
    """A manageable list's marker: the reference of the last entry seen, as JSON."""
    raw = one(req, "marker")
    if not raw:
        return None
    try:
        marker = json.loads(raw)
    except ValueError:
        marker = None
    if not isinstance(marker, dict):
        raise faults.BadRequest(f"Invalid input received: marker {raw} can not be analysed, please use json like "
                                "format")
    return marker


def _paging(req: falcon.Request) -> dict[str, Any]:
    """Cinder's paging of a manageable list, read before the backend is asked: ``sort``
    (``reference`` or ``size``, desc by default), ``marker`` (a reference as JSON), ``offset``,
    ``limit`` (at most 1000). :raises faults.BadRequest: :raises Invalid:"""
    limit = parse_limit(one(req, "limit"))
    return {"sort": _sort(req), "marker": _marker(req), "offset": parse_offset(one(req, "offset")),
            "limit": MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)}


def _entries(rows: list[manage.Entry], *, detail: bool, snapshots: bool) -> list[dict]:
    """Cinder's manageable-volumes/-snapshots rows (the summary's keys, the detail's besides)."""
    out = []
    for row in rows:
        item: dict[str, Any] = {"reference": dict(row.reference), "size": row.size,
                                "safe_to_manage": row.safe_to_manage}
        if snapshots:
            item["source_reference"] = dict(row.source_reference or {})
        if detail:
            item.update({"reason_not_safe": row.reason_not_safe, "cinder_id": row.cinder_id,
                         "extra_info": dict(row.extra_info) if row.extra_info else None})
        out.append(item)
    return out


class _Manage:
    """POST adopts; GET lists what the backend has (/os-*-manage from 3.0, /manageable_* from 3.8)."""

    #: the list's key, its policy, and whether it lists snapshots
    listed: str = "manageable-volumes"
    list_policy: str = "volume_extension:list_manageable"
    snapshots: bool = False

    def __init__(self, core_: VolumeCore, views: VolumeViews, *, path_from: str | None, detail: bool = False):
        self.core, self.views, self.path_from, self.detail = core_, views, path_from, detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        resp.media = {self.listed: listing(self.core, req, self.list_policy, detail=self.detail,
                                           snapshots=self.snapshots)}

    on_head = on_get


class VolumeManage(_Manage):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        ctx = enforce(req, "volume_extension:volume_manage")
        body = read_json(req, schemas.MANAGE_VOLUME)["volume"]
        if not body.get("host"):
            if body.get("cluster"):
                raise faults.NotFound(f"Cluster '{body['cluster']}' not found.")
            raise faults.BadRequest("Invalid input received: host must be specified.")
        spec = manage.ManageSpec(host=body["host"], ref=body["ref"], name=body.get("name"),
                                 description=body.get("description"), volume_type=body.get("volume_type"),
                                 availability_zone=body.get("availability_zone"),
                                 bootable=parse_bool("bootable", body.get("bootable", False)),
                                 metadata=body.get("metadata") or {})
        region = req.context.region
        driver = self.core.volume_driver(region)
        with self.core.store.session() as session:
            volume = manage.manage_volume(session, ctx, spec, region=region, driver=driver,
                                          request_id=req.context.request_id)
            resp.media = {"volume": self.views.volume(req, volume, vtypes.catalog(session), extended=False)}
        resp.status = falcon.HTTP_202


class SnapshotManage(_Manage):
    listed = "manageable-snapshots"
    list_policy = "snapshot_extension:list_manageable"
    snapshots = True

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        ctx = enforce(req, "snapshot_extension:snapshot_manage")
        body = read_json(req, schemas.MANAGE_SNAPSHOT)["snapshot"]
        spec = manage.SnapshotManageSpec(volume_id=body["volume_id"], ref=body["ref"], name=body.get("name"),
                                         description=body.get("description"), metadata=body.get("metadata") or {})
        region = req.context.region
        capabilities = self.core.volume_driver(region).capabilities
        with self.core.store.session() as session:
            snapshot = manage.manage_snapshot(session, ctx, spec, region=region, capabilities=capabilities,
                                              request_id=req.context.request_id)
            resp.media = {"snapshot": self.views.snapshot(req, snapshot, detail=False)}
        resp.status = falcon.HTTP_202


def listing(core_: VolumeCore, req: falcon.Request, policy: str, *, detail: bool, snapshots: bool) -> list[dict]:
    """A manageable list: ``host`` names the region's volume service (400 without it, 404 another)."""
    ctx = enforce(req, policy)
    host = one(req, "host")
    if not host:
        raise faults.BadRequest("Invalid input received: host must be specified.")
    paging = _paging(req)
    region = req.context.region
    driver = core_.volume_driver(region)
    with core_.store.session() as session:
        op_id = manage.request_manageable(session, ctx, host=host, region=region, driver=driver,
                                          snapshots=snapshots, request_id=req.context.request_id)
    rows = manage.page_manageable(manage.manageable(core_.store, op_id, region=region, snapshots=snapshots), **paging)
    return _entries(rows, detail=detail, snapshots=snapshots)


def bind(registry: Registry, core_: VolumeCore, views: VolumeViews) -> None:
    for name, cls in (("volume", VolumeManage), ("snapshot", SnapshotManage)):
        registry.bind("volume", f"{name}_manage", cls(core_, views, path_from=None))
        registry.bind("volume", f"{name}_manage_detail", cls(core_, views, path_from=None, detail=True))
        registry.bind("volume", f"manageable_{name}s", cls(core_, views, path_from=MANAGEABLE))
        registry.bind("volume", f"manageable_{name}s_detail", cls(core_, views, path_from=MANAGEABLE, detail=True))
