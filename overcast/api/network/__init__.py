"""The Neutron v2.0 API at ``/network``: versions and extensions, the resources, their actions,
quotas and tags."""

from __future__ import annotations

from overcast.api.network import (actions, agents, availability, endpoints, metering, qos, rbac, service_providers,
                                  subnet_pools, topology, trunks, versions)
from overcast.api.network.common import Collection, Item
from overcast.api.network.resources import KINDS, RULES
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore

__all__ = ["register"]


def register(registry: Registry, core: NetworkCore) -> None:
    endpoints.declare(registry)
    qos.declare(registry)
    rbac.declare(registry)
    metering.declare(registry)
    service_providers.declare(registry)
    agents.declare(registry)
    trunks.declare(registry)
    versions.bind(registry, core.settings.public_url.rstrip("/") + "/network")
    for kind in (*KINDS, RULES, *subnet_pools.KINDS):
        url = kind.url or kind.collection
        registry.bind("network", url, Collection(core, kind))
        registry.bind("network", f"{url}_item", Item(core, kind))
    actions.bind(registry, core)
    availability.bind(registry, core)
    topology.bind(registry, core)
    qos.bind(registry, core)
    rbac.bind(registry, core)
    metering.bind(registry, core)
    service_providers.bind(registry, core)
    agents.bind(registry, core)
    trunks.bind(registry, core)
