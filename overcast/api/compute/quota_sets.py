"""``/os-quota-sets/{project_id}`` (+ ``/defaults``, ``/detail``): show, admin update and reset."""

from __future__ import annotations

from typing import Any, Mapping

import falcon
from sqlalchemy.orm import Session

from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import quotas as rules

NETWORK_RESOURCES = tuple(rules.NETWORK_DEFAULTS)
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
VALUE = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1, "maximum": 2147483647}


def shown_resources(req: falcon.Request) -> list[str]:
    names = list(rules.DEFAULTS)
    if at_least(req, "2.57"):
        names = [n for n in names if n not in INJECTED]
    return names


def update_schema(req: falcon.Request) -> dict[str, Any]:
    props: dict[str, Any] = {name: VALUE for name in shown_resources(req)}
    if not at_least(req, "2.36"):
        props.update({name: VALUE for name in NETWORK_RESOURCES})
    props["force"] = {"type": ["boolean", "string"],
                      "enum": [True, False, "True", "False", "true", "false", "1", "0"]}
    return {"type": "object", "required": ["quota_set"], "additionalProperties": False,
            "properties": {"quota_set": {"type": "object", "properties": props, "additionalProperties": False}}}


def quota_view(req: falcon.Request, values: Mapping[str, Any], network: Mapping[str, Any],
               project_id: str | None = None) -> dict[str, Any]:
    """``values`` per microversion; ``network`` (the legacy network limits) below 2.36."""
    view: dict[str, Any] = {} if project_id is None else {"id": project_id}
    for name in shown_resources(req):
        view[name] = values[name]
    if not at_least(req, "2.36"):
        view.update(network)
    return view


def _legacy_network(req: falcon.Request, session: Session) -> dict[str, int]:
    """The legacy network limits, read only for the microversions that show them (below 2.36)."""
    return {} if at_least(req, "2.36") else rules.network_defaults(session)


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class QuotaSet(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:quota_sets:show", {"project_id": project_id})
        with self.core.store.session() as session:
            values = rules.limits(session, project_id, req.get_param("user_id"))
            network = _legacy_network(req, session)
        resp.media = {"quota_set": quota_view(req, values, network, project_id)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:quota_sets:update", {"project_id": project_id})
        ref = dict(read_json(req, update_schema(req))["quota_set"])
        force = str(ref.pop("force", False)).lower() in ("true", "1")
        values = {k: int(v) for k, v in ref.items() if k in rules.DEFAULTS}
        with self.core.store.session() as session:
            result = rules.update(session, project_id, values, user_id=req.get_param("user_id"), force=force,
                                  region=req.context.region)
            network = _legacy_network(req, session)
        resp.media = {"quota_set": quota_view(req, result, network)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:quota_sets:delete", {"project_id": project_id})
        with self.core.store.session() as session:
            rules.reset(session, project_id, req.get_param("user_id"))
        resp.status = falcon.HTTP_202


class QuotaDefaults(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:quota_sets:defaults", {"project_id": project_id})
        with self.core.store.session() as session:
            values, network = rules.all_defaults(session)
        resp.media = {"quota_set": quota_view(req, values, network, project_id)}

    on_head = on_get


class QuotaDetail(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:quota_sets:detail", {"project_id": project_id})
        with self.core.store.session() as session:
            values = rules.detail(session, project_id, req.get_param("user_id"), region=req.context.region)
            network = {name: {"limit": limit, "in_use": 0, "reserved": 0}
                       for name, limit in _legacy_network(req, session).items()}
        resp.media = {"quota_set": quota_view(req, values, network, project_id)}

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_quota_sets_target", QuotaSet(core, links))
    registry.bind("compute", "v2_os_quota_sets_target_defaults", QuotaDefaults(core, links))
    registry.bind("compute", "v2_os_quota_sets_target_detail", QuotaDetail(core, links))
