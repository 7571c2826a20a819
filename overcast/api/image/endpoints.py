"""Every image endpoint Overcast knows (Glance v2)."""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET", "HEAD")

#: (name, template below /image, verbs)
IMAGE_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("versions", "", R),
    ("versions_list", "/versions", R),
    ("v2_images", "/v2/images", ("GET", "HEAD", "POST")),
    ("v2_image", "/v2/images/{image_id}", ("GET", "HEAD", "PATCH", "DELETE")),
    ("v2_image_file", "/v2/images/{image_id}/file", ("GET", "HEAD", "PUT")),
    ("v2_image_stage", "/v2/images/{image_id}/stage", ("PUT",)),
    ("v2_image_import", "/v2/images/{image_id}/import", ("POST",)),
    ("v2_image_tasks", "/v2/images/{image_id}/tasks", R),
    ("v2_image_deactivate", "/v2/images/{image_id}/actions/deactivate", ("POST",)),
    ("v2_image_reactivate", "/v2/images/{image_id}/actions/reactivate", ("POST",)),
    ("v2_image_tag", "/v2/images/{image_id}/tags/{tag}", ("PUT", "DELETE")),
    ("v2_image_members", "/v2/images/{image_id}/members", ("GET", "HEAD", "POST")),
    ("v2_image_member", "/v2/images/{image_id}/members/{member_id}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_schemas_image", "/v2/schemas/image", R),
    ("v2_schemas_images", "/v2/schemas/images", R),
    ("v2_schemas_member", "/v2/schemas/member", R),
    ("v2_schemas_members", "/v2/schemas/members", R),
    ("v2_info_import", "/v2/info/import", R),
    ("v2_info_stores", "/v2/info/stores", R),
)


def declare(registry: Registry) -> None:
    for name, template, methods in IMAGE_ENDPOINTS:
        registry.declare("image", name, template, methods)
