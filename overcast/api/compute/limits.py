"""``/limits``: absolute limits from the quotas and what the project uses; no rate limits."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, at_least, caller, enforce
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import quotas


def absolute(req: falcon.Request, limits: dict[str, int], used: dict[str, int],
             network: dict[str, int]) -> dict[str, Any]:
    """Nova's absolute limits per microversion; ``network`` (the legacy network limits) below 2.36."""
    view: dict[str, Any] = {
        "maxTotalInstances": limits["instances"], "maxTotalCores": limits["cores"],
        "maxTotalRAMSize": limits["ram"], "maxServerMeta": limits["metadata_items"],
        "maxTotalKeypairs": limits["key_pairs"], "maxServerGroups": limits["server_groups"],
        "maxServerGroupMembers": limits["server_group_members"],
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"], "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": used["server_groups"],
    }
    if not at_least(req, "2.39"):
        view["maxImageMeta"] = limits["metadata_items"]
    if not at_least(req, "2.57"):
        view["maxPersonality"] = limits["injected_files"]
        view["maxPersonalitySize"] = limits["injected_file_content_bytes"]
    if not at_least(req, "2.36"):
        view.update(maxTotalFloatingIps=network["floating_ips"], maxSecurityGroups=network["security_groups"],
                    maxSecurityGroupRules=network["security_group_rules"], totalFloatingIpsUsed=0,
                    totalSecurityGroupsUsed=0)
    return view


class Limits:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "compute:limits")
        project_id = ctx.project_id or ""
        other = req.get_param("tenant_id")
        if other and other != project_id:
            enforce(req, "compute:limits:other_project", {"project_id": other})
            project_id = other
        with self.core.store.session() as session:
            limits = quotas.limits(session, project_id, caller(req).user_id if not other else None)
            used = quotas.usage(session, project_id, region=req.context.region)
            network = {} if at_least(req, "2.36") else quotas.network_defaults(session)
        resp.media = {"limits": {"absolute": absolute(req, limits, used, network), "rate": []}}

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_limits", Limits(core, links))
