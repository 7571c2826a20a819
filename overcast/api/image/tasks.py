"""Glance's tasks API: ``/v2/tasks`` (list, create a legacy ``import``) and ``/v2/tasks/{task_id}``.

Tasks are never deleted through the API (Glance: 405); they expire ``expires_at``.
"""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.image.images import limit_param, page_links
from overcast.api.image.schemas import IMAGE_REQUEST, task_schema
from overcast.api.image.views import tasks_api_task_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.image import ImageCore, tasks
from overcast.core.image.writes import refuse_read_only

TASK_REQUEST = task_schema()


def _task_body(req: falcon.Request) -> tuple[str, dict[str, Any]]:
    """(type, input) of a create request, checked as Glance does: both present, the task schema, and
    the image properties against the image schema.

    :raises faults.BadRequest: :raises Forbidden: a read-only image attribute.
    """
    body = read_json(req)
    if not isinstance(body, dict):
        raise faults.BadRequest("Request body must be a JSON object.")
    for key in ("type", "input"):
        if key not in body:
            raise faults.BadRequest(f"Task '{key}' is required")
    validate(body, TASK_REQUEST)
    task_input = body["input"] or {}
    properties = task_input.get("image_properties")
    if isinstance(properties, dict):  # anything else: the core refuses it
        refuse_read_only(properties)
        validate(properties, IMAGE_REQUEST)
    return body["type"], task_input


class Tasks:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.core.store.session() as session:
            page, next_marker = tasks.list_tasks(
                session, req.context.auth, status=req.get_param("status"), task_type=req.get_param("type"),
                limit=limit_param(req), marker=req.get_param("marker"),
                sort_key=req.get_param("sort_key") or "created_at", sort_dir=req.get_param("sort_dir") or "desc")
            body: dict[str, Any] = {"tasks": [tasks_api_task_view(t, stub=True) for t in page]}
        body.update(page_links(req, "/v2/tasks", "/v2/schemas/tasks", next_marker))
        resp.media = body

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        tasks.require_access(req.context.auth)
        task_type, task_input = _task_body(req)
        task = tasks.create(self.core, req.context.auth, task_type, task_input, req.context.request_id)
        resp.media = tasks_api_task_view(task)
        resp.status = falcon.HTTP_201
        resp.location = f"/v2/tasks/{task.id}"


class Task:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        with self.core.store.session() as session:
            resp.media = tasks_api_task_view(tasks.get(session, req.context.auth, task_id))

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, task_id: str) -> None:
        tasks.require_access(req.context.auth)
        raise faults.Fault(405, "This operation is currently not permitted on Glance Tasks. They are auto deleted "
                           "after reaching the time based on their expires_at property.", headers={"Allow": "GET"})


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_tasks", Tasks(core))
    registry.bind("image", "v2_task", Task(core))
