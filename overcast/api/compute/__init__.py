"""The Nova v2.1 API: each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.compute import endpoints, versions
from overcast.api.compute import (aggregates, availability_zones, extensions, flavors, hosts, hypervisors,
                                  images, interfaces, keypairs, limits, quota_sets, server_groups, services, usage,
                                  usage_audit_log)
from overcast.api.compute import floating_ips, networks, quota_classes, remote_consoles, security_groups
from overcast.api.compute import assisted_volume_snapshots, migrations, server_external_events
from overcast.api.compute import server_shares, volume_proxies
from overcast.api.compute.common import MICROVERSIONS, Links
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore

__all__ = ["MICROVERSIONS", "register"]


def register(registry: Registry, core: ComputeCore) -> None:
    endpoints.declare(registry)
    links = Links(core.settings.public_url)
    versions.bind(registry, links)
    flavors.bind(registry, core, links)
    keypairs.bind(registry, core, links)
    limits.bind(registry, core, links)
    availability_zones.bind(registry, core, links)
    quota_sets.bind(registry, core, links)
    usage.bind(registry, core, links)
    server_groups.bind(registry, core, links)
    hypervisors.bind(registry, core, links)
    services.bind(registry, core, links)
    hosts.bind(registry, core, links)
    usage_audit_log.bind(registry, core, links)
    aggregates.bind(registry, core, links)
    extensions.bind(registry, core, links)
    images.bind(registry, core, links)
    quota_classes.bind(registry, core, links)
    networks.bind(registry, core, links)
    floating_ips.bind(registry, core, links)
    security_groups.bind(registry, core, links)
    remote_consoles.bind(registry, core, links)
    migrations.bind(registry, core, links)
    server_external_events.bind(registry, core, links)
    assisted_volume_snapshots.bind(registry, core)
    volume_proxies.bind(registry, core)
    server_shares.bind(registry, core)
    from overcast.api.compute import actions as server_actions
    from overcast.api.compute import diagnostics, server_subresources, servers, volume_attachments
    server_views = servers.bind(registry, core, links)
    server_actions.bind(registry, core, server_views)
    server_subresources.bind(registry, core, server_views)
    diagnostics.bind(registry, core, server_views)
    volume_attachments.bind(registry, core, server_views)
    interfaces.bind(registry, core, server_views)
