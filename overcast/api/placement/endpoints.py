"""Every Placement endpoint Overcast knows (the Placement API reference, 1.0-1.39)."""

from __future__ import annotations

from overcast.api.routing import Registry

RP = "/resource_providers/{uuid}"

#: (name, template below /placement, verbs)
PLACEMENT_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("root", "", ("GET", "HEAD")),
    ("resource_providers", "/resource_providers", ("GET", "POST")),
    ("resource_provider", RP, ("GET", "PUT", "DELETE")),
    ("resource_provider_inventories", f"{RP}/inventories", ("GET", "POST", "PUT", "DELETE")),
    ("resource_provider_inventory", f"{RP}/inventories/{{resource_class}}", ("GET", "PUT", "DELETE")),
    ("resource_provider_usages", f"{RP}/usages", ("GET",)),
    ("resource_provider_aggregates", f"{RP}/aggregates", ("GET", "PUT")),
    ("resource_provider_traits", f"{RP}/traits", ("GET", "PUT", "DELETE")),
    ("resource_provider_allocations", f"{RP}/allocations", ("GET",)),
    ("resource_classes", "/resource_classes", ("GET", "POST")),
    ("resource_class", "/resource_classes/{name}", ("GET", "PUT", "DELETE")),
    ("traits", "/traits", ("GET",)),
    ("trait", "/traits/{name}", ("GET", "PUT", "DELETE")),
    ("allocations", "/allocations", ("POST",)),
    ("consumer_allocations", "/allocations/{consumer_uuid}", ("GET", "PUT", "DELETE")),
    ("usages", "/usages", ("GET",)),
    ("allocation_candidates", "/allocation_candidates", ("GET",)),
    ("reshaper", "/reshaper", ("POST",)),
)


def declare(registry: Registry) -> None:
    for name, template, methods in PLACEMENT_ENDPOINTS:
        registry.declare("placement", name, template, methods)
