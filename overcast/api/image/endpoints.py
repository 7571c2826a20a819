"""Every image endpoint Overcast knows (Glance v2)."""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET", "HEAD")
#: one metadefs namespace
NS = "/v2/metadefs/namespaces/{namespace}"

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
    ("v2_image_locations", "/v2/images/{image_id}/locations", ("GET", "POST")),
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
    # Glance's legacy tasks API (admin only; the interoperable import supersedes it)
    ("v2_tasks", "/v2/tasks", ("GET", "HEAD", "POST")),
    ("v2_task", "/v2/tasks/{task_id}", ("GET", "HEAD", "DELETE")),
    ("v2_schemas_task", "/v2/schemas/task", R),
    ("v2_schemas_tasks", "/v2/schemas/tasks", R),
    # the metadata definitions catalog
    ("v2_metadefs_resource_types", "/v2/metadefs/resource_types", R),
    ("v2_metadefs_namespaces", "/v2/metadefs/namespaces", ("GET", "HEAD", "POST")),
    ("v2_metadefs_namespace", NS, ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_metadefs_associations", f"{NS}/resource_types", ("GET", "HEAD", "POST")),
    ("v2_metadefs_association", f"{NS}/resource_types/{{resource_type}}", ("DELETE",)),
    ("v2_metadefs_objects", f"{NS}/objects", ("GET", "HEAD", "POST", "DELETE")),
    ("v2_metadefs_object", f"{NS}/objects/{{object_name}}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_metadefs_properties", f"{NS}/properties", ("GET", "HEAD", "POST", "DELETE")),
    ("v2_metadefs_property", f"{NS}/properties/{{property_name}}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_metadefs_tags", f"{NS}/tags", ("GET", "HEAD", "POST", "DELETE")),
    ("v2_metadefs_tag", f"{NS}/tags/{{tag_name}}", ("GET", "HEAD", "POST", "PUT", "DELETE")),
    *((f"v2_schemas_metadefs_{doc}", f"/v2/schemas/metadefs/{doc}", R)
      for doc in ("namespace", "namespaces", "resource_type", "resource_types", "object", "objects", "property",
                  "properties", "tag", "tags")),
)


def declare(registry: Registry) -> None:
    for name, template, methods in IMAGE_ENDPOINTS:
        registry.declare("image", name, template, methods)
