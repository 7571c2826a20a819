"""``/os-quota-class-sets/{class}``: show and (admin) update a quota class, per microversion.

Below 2.50 a class shows the legacy network limits and not the server group ones; 2.50 swaps
them; 2.57 drops the injected-file limits. Updates accept what the microversion shows (and,
below 2.50, the server group limits and nova-network's ``networks``, which Nova accepts but no
longer counts: ignored here). The ``default`` class is every project's defaults.
"""

from __future__ import annotations

from typing import Any, Mapping

import falcon

from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.compute.quota_sets import INJECTED, NETWORK_RESOURCES, VALUE
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import quotas as rules

GROUP_RESOURCES = ("server_groups", "server_group_members")
#: nova-network's networks quota: accepted below 2.50, never shown
LEGACY_NETWORKS = "networks"


def shown_resources(req: falcon.Request) -> list[str]:
    hidden = set(NETWORK_RESOURCES) if at_least(req, "2.50") else set(GROUP_RESOURCES)
    if at_least(req, "2.57"):
        hidden |= set(INJECTED)
    return [name for name in rules.CLASS_RESOURCES if name not in hidden]


def update_schema(req: falcon.Request) -> dict[str, Any]:
    names = shown_resources(req)
    if not at_least(req, "2.50"):
        names += [*GROUP_RESOURCES, LEGACY_NETWORKS]
    return {"type": "object", "required": ["quota_class_set"], "additionalProperties": False,
            "properties": {"quota_class_set": {"type": "object", "additionalProperties": False,
                                               "properties": {name: VALUE for name in names}}}}


def class_view(req: falcon.Request, values: Mapping[str, int], class_name: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {} if class_name is None else {"id": class_name}
    view.update({name: values[name] for name in shown_resources(req)})
    return view


class QuotaClassSet:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, class_name: str, **_: str) -> None:
        enforce(req, "compute:quota_class_sets:show", {"quota_class": class_name})
        with self.core.store.session() as session:
            values = rules.class_limits(session, class_name)
        resp.media = {"quota_class_set": class_view(req, values, class_name)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, class_name: str, **_: str) -> None:
        ref = read_json(req, update_schema(req))["quota_class_set"]
        enforce(req, "compute:quota_class_sets:update", {"quota_class": class_name})
        values = {name: int(value) for name, value in ref.items() if name != LEGACY_NETWORKS}
        with self.core.store.session() as session:
            result = rules.update_class(session, class_name, values)
        resp.media = {"quota_class_set": class_view(req, result)}


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_quota_class_sets", QuotaClassSet(core, links))
