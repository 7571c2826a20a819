"""Every CDN endpoint (Poppy v1.0), below the ``/cdn`` mount."""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET", "HEAD")

#: (name, template, verbs)
ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("home", "/v1.0", R),
    ("ping", "/v1.0/ping", R),
    ("health", "/v1.0/health", R),
    ("health_storage", "/v1.0/health/storage/{name}", R),
    ("health_provider", "/v1.0/health/provider/{name}", R),
    ("services", "/v1.0/services", ("GET", "HEAD", "POST")),
    ("service", "/v1.0/services/{service_id}", ("GET", "HEAD", "PATCH", "DELETE")),
    ("service_assets", "/v1.0/services/{service_id}/assets", ("DELETE",)),
    ("service_analytics", "/v1.0/services/{service_id}/analytics", R),
    ("flavors", "/v1.0/flavors", ("GET", "HEAD", "POST")),
    ("flavor", "/v1.0/flavors/{flavor_id}", ("GET", "HEAD", "DELETE")),
    ("ssl_certificates", "/v1.0/ssl_certificate", ("POST",)),
    ("ssl_certificate", "/v1.0/ssl_certificate/{domain_name}", ("GET", "HEAD", "DELETE")),
    ("admin_services", "/v1.0/admin/services", R),
    ("admin_service_action", "/v1.0/admin/services/action", ("POST",)),
    ("admin_service_status", "/v1.0/admin/services/status", ("POST",)),
    ("admin_limit", "/v1.0/admin/limits/{project_id}", ("GET", "HEAD", "PUT")),
    ("admin_domain", "/v1.0/admin/domains/{domain_name}", R),
    ("admin_certificates", "/v1.0/admin/certificates", R),
    ("admin_certificate", "/v1.0/admin/certificates/{domain_name}", ("PATCH",)),
)


def declare(registry: Registry) -> None:
    for name, template, verbs in ENDPOINTS:
        registry.declare("cdn", name, template, verbs)
