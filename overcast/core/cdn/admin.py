"""The CDN's operator routes (Poppy's ``/admin``): services by status, actions on a project's (or a
domain's) services, a forced status, per-project limits, a service by domain. The API enforces the
admin role on every one of them (Poppy's had no authorization at all)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.cdn import CdnCore
from overcast.core.cdn.services import (DELETE_IN_PROGRESS, DEPLOY, DEPLOYED, FAILED, STATUSES, UPDATE_IN_PROGRESS,
                                        Caller, check_id, delete, enqueue_work, not_found, refresh_status)
from overcast.core.errors import Invalid, NotFound
from overcast.store.cdn import CdnDomain, CdnProject, CdnService
from overcast.store.models import utcnow

PROJECT_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9_\-.]+$"}

ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["delete", "enable", "disable"]},
        "project_id": PROJECT_ID,
        "domain": {"type": "string", "minLength": 3, "maxLength": 253},
    },
    "required": ["action"],
    "additionalProperties": False,
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": [DEPLOYED, FAILED]},
        "project_id": PROJECT_ID,
        "service_id": {"type": "string", "minLength": 36, "maxLength": 36},
    },
    "required": ["status", "project_id", "service_id"],
    "additionalProperties": False,
}

LIMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"limit": {"type": "integer", "minimum": 0, "maximum": 1000000}},
    "required": ["limit"],
    "additionalProperties": False,
}


def services_by_status(session: Session, status: str) -> list[tuple[str, str]]:
    """(project_id, service_id) of every service in ``status``. :raises Invalid: unknown status."""
    if status not in STATUSES:
        raise Invalid(f"Unknown status type {status} present, Valid status types are: {list(STATUSES)}")
    return [(r.project_id, r.id) for r in session.execute(
        select(CdnService.project_id, CdnService.id).where(CdnService.status == status)
        .order_by(CdnService.project_id, CdnService.id))]


def service_by_domain(session: Session, domain: str) -> CdnService:
    """:raises NotFound:"""
    service_id = session.scalar(select(CdnDomain.service_id).where(CdnDomain.domain == domain.strip().lower()))
    service = session.get(CdnService, service_id) if service_id else None
    if service is None:
        raise NotFound(f"Domain {domain} cannot be found")
    return service


def act(core: CdnCore, session: Session, caller: Caller, body: dict[str, Any]) -> int:
    """Enable, disable or delete every service of ``project_id``, or the service of ``domain``.
    Returns how many services it touched.

    :raises Invalid: neither or both of project_id and domain. :raises NotFound: no such domain.
    """
    if ("project_id" in body) == ("domain" in body):
        raise Invalid("give project_id or domain (one of them)")
    if "domain" in body:
        services = [service_by_domain(session, body["domain"])]
    else:
        services = list(session.scalars(select(CdnService).where(CdnService.project_id == body["project_id"])
                                        .order_by(CdnService.id).with_for_update()))
    action = body["action"]
    for service in services:
        acting = Caller(service.project_id, caller.user_id, caller.request_id)
        if action == "delete":
            delete(session, acting, service)
            continue
        wanted = "enabled" if action == "enable" else "disabled"
        if service.operator_status == wanted:
            continue
        service.operator_status = wanted
        for detail in service.providers:
            if detail.status == DELETE_IN_PROGRESS:
                continue
            # queued behind a deployment in flight (operations on one provider run in order), so the
            # provider ends with the operator's choice whatever it was doing
            if detail.provider_service_id:
                detail.status = UPDATE_IN_PROGRESS
            detail.updated_at = utcnow()
            enqueue_work(session, acting, DEPLOY, service, detail.provider, action)
        refresh_status(service)
    return len(services)


def force_status(session: Session, body: dict[str, Any]) -> None:
    """Set every provider row of the service to ``status`` (an operator's repair).

    :raises NotFound: no such service in that project.
    """
    service = session.scalar(select(CdnService).where(CdnService.id == check_id(body["service_id"]),
                                                      CdnService.project_id == body["project_id"]))
    if service is None:
        raise not_found(body["service_id"])
    for detail in service.providers:
        detail.status = body["status"]
        if body["status"] == DEPLOYED:
            detail.error_message = detail.error_class = None
        detail.updated_at = utcnow()
    refresh_status(service)


def get_limit(core: CdnCore, session: Session, project_id: str) -> int:
    row = session.get(CdnProject, project_id)
    return row.service_limit if row is not None and row.service_limit is not None else core.settings.cdn.service_limit


def set_limit(session: Session, project_id: str, limit: int) -> None:
    row = session.get(CdnProject, project_id)
    if row is None:
        session.add(CdnProject(project_id=project_id, service_limit=limit, services=0))
    else:
        row.service_limit = limit
