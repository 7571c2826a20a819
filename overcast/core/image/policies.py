"""Glance's default policy (glance/policies/{image,metadef,tasks}.py, 2023.2+ defaults): the one
place the image service's rules are declared; the app factory loads them
(:func:`overcast.core.policy.load`). An image rule's target is ``{"project_id": image.owner}``.

A project member creates, changes, shares and deletes its project's images; a reader only reads
them; the admin role does everything, and alone publicises images, copies them between stores,
manages the metadata definitions catalog and uses the tasks API (``tasks_api_access``).
"""

from __future__ import annotations

from typing import Mapping

from overcast.core.policy import ADMIN, PROJECT_MEMBER, Rule, role

ADMIN_OR_PROJECT_MEMBER = ADMIN | PROJECT_MEMBER
#: Glance lets any reader (a role implying it) read the public catalog and its project's namespaces
ADMIN_OR_READER = ADMIN | role("reader")

_METADEF_KINDS = ("namespace", "object", "property", "tag", "resource_type_association")

RULES: Mapping[str, Rule] = {
    **{name: ADMIN_OR_PROJECT_MEMBER for name in (
        "add_image", "delete_image", "modify_image", "upload_image", "deactivate", "reactivate",
        "communitize_image", "set_image_location", "add_member", "delete_member", "modify_member")},
    "publicize_image": ADMIN,
    "delete_image_location": ADMIN,
    # the add/get location API (2.17): services, and the owner's members to add one
    "add_image_location": ADMIN_OR_PROJECT_MEMBER | role("service"),
    "fetch_image_location": role("service"),
    "copy_image": ADMIN,
    # the metadata definitions catalog
    "get_metadef_namespaces": ADMIN_OR_READER,
    "list_metadef_resource_types": ADMIN_OR_READER,
    **{f"{verb}_metadef_{kind}": ADMIN for verb in ("add", "modify", "delete") for kind in _METADEF_KINDS},
    "add_metadef_tags": ADMIN,
    "delete_metadef_tags": ADMIN,
    "remove_metadef_property": ADMIN,
    "remove_metadef_resource_type_association": ADMIN,
    # tasks
    "tasks_api_access": ADMIN,
}
