"""Glance's tasks API (``/v2/tasks``): every task, and the legacy ``import`` task.

Glance 2.x still serves it, deprecated in favour of the interoperable import and admin-only by
default (the ``tasks_api_access`` policy). An ``import`` task makes an image from its
``image_properties``, fetches ``import_from`` (http or https, filtered as web-download is) into
it and records ``{"image_id": ...}`` as its result; when anything fails, the image it made goes
and the task's message says why. As newer Glance does, a task whose input cannot work (a field
missing, a URI that does not pass the filter) is refused when it is created (400).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.core.image import ImageCore, paging
from overcast.core.image.data import check_uri, fetch, move, run_data_task
from overcast.core.image.writes import create as create_image, valid_id
from overcast.store.image import Image, ImageTask

#: what ``POST /v2/tasks`` makes (``api_image_import`` tasks come from ``POST /images/{id}/import``)
TASK_TYPES = ("import",)
STATUSES = ("pending", "processing", "success", "failure")
SORT_KEYS = ("id", "type", "status", "owner", "created_at", "updated_at", "expires_at")
INPUT_FIELDS = ("import_from", "import_from_format", "image_properties")


def require_access(ctx: AuthContext) -> None:
    """Glance's ``tasks_api_access`` rule. :raises Forbidden: not an admin (its default)."""
    if not policy.allowed("tasks_api_access", ctx):
        raise Forbidden("You are not authorized to complete tasks_api_access action.")


def _image_properties(task_input: Mapping[str, Any]) -> dict[str, Any]:
    """The image to make; Glance gives an empty set qcow2/bare. :raises Invalid: not an object, no formats."""
    properties = task_input["image_properties"]
    if not isinstance(properties, Mapping):
        raise Invalid("Input field 'image_properties' must be a JSON object.")
    properties = dict(properties)
    if not properties:
        properties = {"disk_format": "qcow2", "container_format": "bare"}
    if not properties.get("disk_format") or not properties.get("container_format"):
        raise Invalid("Properties disk_format, container_format must be set prior to saving data.")
    return properties


def create(core: ImageCore, ctx: AuthContext, task_type: str, task_input: Mapping[str, Any],
           request_id: str | None) -> ImageTask:
    """A pending task, run in the background. ``task_input["image_properties"]`` has been checked
    against the image schema.

    :raises Forbidden: not an admin. :raises Invalid: a type other than ``import``, an input field
        missing, a URI that does not pass the filter, or image properties without formats.
    """
    require_access(ctx)
    if task_type not in TASK_TYPES:
        raise Invalid(f"Task type {task_type} cannot be created through the tasks API; use the image import "
                      "API (POST /v2/images/{image_id}/import).")
    for key in INPUT_FIELDS:
        if key not in task_input:
            raise Invalid(f"Input does not contain '{key}' field")
    uri = check_uri(core, task_input["import_from"], "import")
    properties = _image_properties(task_input)
    with core.store.session() as session:
        task = ImageTask(id=str(uuid.uuid4()), image_id=None, type=task_type, status="pending",
                         owner=ctx.project_id, user_id=ctx.user_id, request_id=request_id,
                         input=dict(task_input), message="")
        session.add(task)
        session.flush()
    core.submit(lambda: run_import(core, ctx, task.id, uri, properties))
    return task


def run_import(core: ImageCore, ctx: AuthContext, task_id: str, uri: str, properties: Mapping[str, Any]) -> None:
    """The legacy import (worker side): make the image, fetch the data into it, make it active.

    Never raises: a failure is recorded on the task and the image it made is deleted.
    """

    def prepare() -> tuple[str, Iterable[bytes], str | None]:
        with core.store.session() as session:
            image = create_image(session, ctx, properties)
            image_id, disk_format = image.id, image.disk_format
            move(session, image_id, "queued", "saving")
        return image_id, fetch(core, uri, "import"), disk_format

    def remove(image_id: str | None) -> None:
        if image_id is not None:
            with core.store.session() as session:
                made = session.get(Image, image_id)
                if made is not None:
                    session.delete(made)
            core.data.delete(image_id)

    run_data_task(core, task_id, "saving", prepare, remove)


def list_tasks(session: Session, ctx: AuthContext, *, status: str | None = None, task_type: str | None = None,
               limit: int | None = None, marker: str | None = None, sort_key: str = "created_at",
               sort_dir: str = "desc") -> tuple[list[ImageTask], str | None]:
    """Every task (an admin's view); returns (page, next marker or None).

    :raises Forbidden: not an admin. :raises Invalid: a bad filter, sort or marker.
    """
    require_access(ctx)
    if status is not None and status not in STATUSES:
        raise Invalid(f"Invalid status value: {status}")
    if task_type is not None and task_type not in TASK_TYPES:
        raise Invalid(f"Invalid type value: {task_type}")
    paging.check_dir(sort_dir)  # here the direction is checked before the key

    def check_marker(marker: str) -> None:
        if not valid_id(marker):
            raise Invalid("Invalid marker format")

    query = select(ImageTask)
    if status is not None:
        query = query.where(ImageTask.status == status)
    if task_type is not None:
        query = query.where(ImageTask.type == task_type)
    return paging.page(session, query, ImageTask, sort=[(sort_key, sort_dir)], sort_keys=SORT_KEYS, limit=limit,
                       marker=marker, check_marker=check_marker,
                       missing=lambda m: Invalid(f"Invalid marker. Task {m} could not be found."))


def get(session: Session, ctx: AuthContext, task_id: str) -> ImageTask:
    """:raises Forbidden: not an admin. :raises NotFound:"""
    require_access(ctx)
    task = session.get(ImageTask, task_id)
    if task is None:
        raise NotFound(f"Task with the given ID {task_id} was not found")
    return task
