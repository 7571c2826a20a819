"""Every Neutron v2.0 endpoint Overcast serves at ``/network``."""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET",)
RW = ("GET", "POST")
ITEM = ("GET", "PUT", "DELETE")

#: collections with the standard item and tag endpoints (URL segment)
COLLECTIONS = ("networks", "subnets", "ports", "routers", "floatingips", "security-groups",
               "security-group-rules", "subnetpools", "address-scopes")
TAGGABLE = ("networks", "subnets", "ports", "routers", "floatingips", "security-groups", "subnetpools", "trunks")

NETWORK_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("versions", "", R),
    ("v2_root", "/v2.0", R),
    ("extensions", "/v2.0/extensions", R),
    ("extension", "/v2.0/extensions/{alias}", R),
    ("router_add_interface", "/v2.0/routers/{item_id}/add_router_interface", ("PUT",)),
    ("router_remove_interface", "/v2.0/routers/{item_id}/remove_router_interface", ("PUT",)),
    ("quotas", "/v2.0/quotas", R),
    ("quota", "/v2.0/quotas/{project_id}", ITEM),
    ("quota_default", "/v2.0/quotas/{project_id}/default", R),
    ("quota_details", "/v2.0/quotas/{project_id}/details.json", R),
    ("network_ip_availabilities", "/v2.0/network-ip-availabilities", R),
    ("network_ip_availability", "/v2.0/network-ip-availabilities/{network_id}", R),
    ("auto_allocated_topology", "/v2.0/auto-allocated-topology/{project_id}", ("GET", "DELETE")),
)


def declare(registry: Registry) -> None:
    for name, template, methods in NETWORK_ENDPOINTS:
        aliases = (template.removesuffix(".json"),) if template.endswith(".json") else ()
        registry.declare("network", name, template, methods, aliases)
    for collection in COLLECTIONS:
        registry.declare("network", collection, f"/v2.0/{collection}", RW)
        registry.declare("network", f"{collection}_item", f"/v2.0/{collection}/{{item_id}}",
                         ("GET", "DELETE") if collection == "security-group-rules" else ITEM)
    for collection in TAGGABLE:
        registry.declare("network", f"{collection}_tags", f"/v2.0/{collection}/{{item_id}}/tags",
                         ("GET", "PUT", "DELETE"))
        registry.declare("network", f"{collection}_tag", f"/v2.0/{collection}/{{item_id}}/tags/{{tag}}", ITEM)
