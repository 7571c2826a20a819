"""CDN services: create, list, show, update (RFC 6902 JSON Patch), delete and purge, with Poppy's rules.

A service is recorded with one provider row per provider of its flavor, its domain claims and one
``cdn.deploy`` operation per provider, all in the request's transaction: a service is never
recorded without the work that deploys it, and a domain is never claimed by two projects (its row's
primary key is the domain). The project's service count is claimed in the same transaction by a
conditional UPDATE, so two racing creates cannot both pass the limit.

Statuses follow Poppy: each provider row is ``deploy_in_progress``, ``deployed``,
``update_in_progress``, ``delete_in_progress`` or ``failed``; the service's status is derived from
them (:func:`derive_status`) and stored for the admin API's listing by status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import jsonpatch
import jsonpointer
from sqlalchemy import func, insert, select
from sqlalchemy import update as update_rows  # this module has its own update()
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.core.cdn import CdnCore, document
from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.drivers.cdn.base import RESTRICTION_CAPABILITIES, Capability, ServiceSpec
from overcast.ops.engine import enqueue
from overcast.store.cdn import CdnDomain, CdnFlavor, CdnProject, CdnProviderDetail, CdnService
from overcast.store.models import utcnow

# operation kinds (handlers in overcast.core.cdn.operations)
DEPLOY = "cdn.deploy"
DELETE = "cdn.delete"
PURGE = "cdn.purge"
RESOURCE = "cdn_service"

# Poppy's service statuses
CREATE_IN_PROGRESS = "create_in_progress"
DEPLOYED = "deployed"
UPDATE_IN_PROGRESS = "update_in_progress"
DELETE_IN_PROGRESS = "delete_in_progress"
FAILED = "failed"
STATUSES = (CREATE_IN_PROGRESS, DEPLOYED, UPDATE_IN_PROGRESS, DELETE_IN_PROGRESS, FAILED)
#: a provider row's status while its first deployment runs
DEPLOY_IN_PROGRESS = "deploy_in_progress"

#: the largest JSON Patch accepted (operations)
MAX_PATCH_OPERATIONS = 100
PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


@dataclass(frozen=True)
class Caller:
    """Who asks: the token's project (services belong to it), user and the request id."""

    project_id: str
    user_id: str | None
    request_id: str | None

    @classmethod
    def of(cls, ctx: AuthContext, request_id: str | None) -> "Caller":
        """:raises Forbidden: the token is not scoped to a project (CDN services belong to one)."""
        if not ctx.project_id:
            raise Forbidden("The CDN API needs a project-scoped token: services belong to a project.")
        return cls(ctx.project_id, ctx.user_id, request_id)


def derive_status(statuses: Iterable[str]) -> str:
    """The service's status from its provider rows' (Poppy's rule, made order-independent):
    any deleting -> delete_in_progress; else any failed -> failed; else any updating ->
    update_in_progress; else any deploying (or no row yet) -> create_in_progress; else deployed."""
    found = set(statuses)
    if not found:
        return CREATE_IN_PROGRESS
    for status in (DELETE_IN_PROGRESS, FAILED, UPDATE_IN_PROGRESS):
        if status in found:
            return status
    return CREATE_IN_PROGRESS if DEPLOY_IN_PROGRESS in found else DEPLOYED


def refresh_status(service: CdnService) -> None:
    service.status = derive_status(d.status for d in service.providers)
    service.updated_at = utcnow()


def not_found(service_id: str) -> NotFound:
    return NotFound(f"service {service_id} could not be found")


def check_id(service_id: str) -> str:
    """:raises Invalid: not a UUID (Poppy validates service ids before looking)."""
    try:
        return str(uuid.UUID(service_id))
    except ValueError:
        raise Invalid("Invalid service id") from None


def locked_service(session: Session, service_id: str, project_id: str | None = None) -> CdnService | None:
    """The service, locked for the rest of the transaction and read fresh (its provider rows too).

    The lock is taken by a write (``UPDATE ... SET updated_at``) before anything is read: on
    PostgreSQL it locks the row; on SQLite it takes the database's write lock, so the reads that
    follow see every transaction that committed before. Two workers finishing two providers of one
    service therefore never both work from a stale view (and both miss that the service is done).
    """
    where = [CdnService.id == service_id]
    if project_id is not None:
        where.append(CdnService.project_id == project_id)
    touched = session.execute(update_rows(CdnService).where(*where).values(updated_at=utcnow())
                              .execution_options(synchronize_session=False)).rowcount
    if not touched:
        return None
    return session.scalar(select(CdnService).where(*where).execution_options(populate_existing=True))


def get_service(session: Session, project_id: str, service_id: str, *, lock: bool = False) -> CdnService:
    """The project's service (``lock``: see :func:`locked_service`). :raises Invalid: a malformed id.
    :raises NotFound: none (another project's service is not found either)."""
    service_id = check_id(service_id)
    if lock:
        service = locked_service(session, service_id, project_id)
    else:
        service = session.scalar(select(CdnService).where(CdnService.id == service_id,
                                                          CdnService.project_id == project_id))
    if service is None:
        raise not_found(service_id)
    return service


def list_services(session: Session, project_id: str, marker: str | None, limit: int) -> tuple[list[CdnService], bool]:
    """One page of the project's services in id order after ``marker``; and whether more follow
    (keyset paging on the ``(project_id, id)`` index)."""
    query = select(CdnService).where(CdnService.project_id == project_id)
    if marker is not None:
        query = query.where(CdnService.id > marker)
    rows = list(session.scalars(query.order_by(CdnService.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def spec_of(service: CdnService) -> ServiceSpec:
    return document.to_spec(service.id, service.project_id, service.document,
                            enabled=service.operator_status == "enabled")


def user_view(service: CdnService) -> dict[str, Any]:
    """The document a JSON Patch applies to: the fields a user sets, as GET shows them."""
    return {"name": service.name, "flavor_id": service.flavor_id, **service.document}


# -- checks shared by create and update -------------------------------------------------------------
def get_flavor(session: Session, flavor_id: str) -> CdnFlavor:
    """:raises Invalid: no such flavor (the field that named it is ``flavor_id``)."""
    flavor = session.get(CdnFlavor, flavor_id)
    if flavor is None:
        raise Invalid(f"flavor_id: flavor {flavor_id} could not be found")
    return flavor


def check_capabilities(core: CdnCore, flavor: CdnFlavor, doc: Mapping[str, Any]) -> None:
    """Refuse what a provider of the flavor cannot deploy, now, rather than accept it and fail later.

    :raises Invalid: naming the field that asks for it.
    """
    asks: list[tuple[Capability, str]] = []
    for i, domain in enumerate(doc["domains"]):
        if domain["protocol"] == "https":
            asks.append((Capability.HTTPS, f"domains[{i}].protocol"))
    if doc["log_delivery"]["enabled"]:
        asks.append((Capability.LOG_DELIVERY, "log_delivery.enabled"))
    for i, restriction in enumerate(doc["restrictions"]):
        for j, rule in enumerate(restriction["rules"]):
            for kind, capability in RESTRICTION_CAPABILITIES.items():
                if kind in rule:
                    asks.append((capability, f"restrictions[{i}].rules[{j}].{kind}"))
    for provider in flavor.provider_names:
        offered = core.driver(provider).capabilities
        for capability, field in asks:
            if capability not in offered:
                raise Invalid(f"{field}: provider {provider} of flavor {flavor.id} does not offer "
                              f"{capability.value.replace('_', ' ')}")


def _claim_slot(session: Session, project_id: str, default_limit: int) -> None:
    """Count one more service for the project, unless that passes its limit.

    :raises Forbidden: the project holds as many services as it may (Poppy answers 403).
    """
    if session.get(CdnProject, project_id) is None:
        _insert_ignore(session, CdnProject, {"project_id": project_id, "service_limit": None, "services": 0})
    limit = func.coalesce(CdnProject.service_limit, default_limit)
    claimed = session.execute(update_rows(CdnProject).where(CdnProject.project_id == project_id,
                                                       CdnProject.services < limit)
                              .values(services=CdnProject.services + 1)
                              .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        row = session.get(CdnProject, project_id)
        session.refresh(row)
        allowed = row.service_limit if row.service_limit is not None else default_limit
        raise Forbidden(f"Maximum services count of {allowed} reached for project {project_id}")


def release_slot(session: Session, project_id: str) -> None:
    session.execute(update_rows(CdnProject).where(CdnProject.project_id == project_id, CdnProject.services > 0)
                    .values(services=CdnProject.services - 1).execution_options(synchronize_session=False))


def _insert_ignore(session: Session, model: type, values: Mapping[str, Any]) -> None:
    """INSERT the row unless one with its key exists (a racing insert loses quietly)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the two supported databases
        session.execute(insert(model).values(**values))
        return
    session.execute(dialect_insert(model).values(**values).on_conflict_do_nothing())


def _check_name(session: Session, project_id: str, name: str, service_id: str | None = None) -> None:
    query = select(CdnService.id).where(CdnService.project_id == project_id, CdnService.name == name)
    if service_id is not None:
        query = query.where(CdnService.id != service_id)
    if session.scalar(query) is not None:
        raise Invalid(f"name: Service with name {name} already exists")


def _taken(domain: str) -> Invalid:
    return Invalid(f"Domain {domain} has already been taken")


def _claim_domains(session: Session, service: CdnService, names: list[tuple[int, str]]) -> None:
    """Claim ``names`` ((index in domains, domain)) for ``service``.

    :raises Invalid: a domain another service holds (a racing claim loses here too: the domain is
        the row's primary key and the flush fails).
    """
    if not names:
        return
    held = dict(session.execute(select(CdnDomain.domain, CdnDomain.service_id).where(
        CdnDomain.domain.in_([n for _, n in names]))).all())
    for index, name in names:
        if held.get(name, service.id) != service.id:
            raise Invalid(f"domains[{index}].domain: {_taken(name).message}")
    for _, name in names:
        if name not in held:
            session.add(CdnDomain(domain=name, service_id=service.id, project_id=service.project_id))
    try:
        session.flush()
    except IntegrityError:
        raise _taken(", ".join(n for _, n in names)) from None


def enqueue_work(session: Session, caller: Caller, kind: str, service: CdnService, provider: str, action: str,
             **params: Any) -> None:
    enqueue(session, kind=kind, cloud=provider, resource_type=RESOURCE, resource_id=service.id,
            params={"provider": provider, **params}, action=action, request_id=caller.request_id,
            user_id=caller.user_id, project_id=service.project_id)


# -- create ----------------------------------------------------------------------------------------
def create(core: CdnCore, session: Session, caller: Caller, body: Any) -> CdnService:
    """Record a service and its deployment on every provider of its flavor (202 in the API).

    :raises Invalid: the body (naming the field), an unknown flavor, a taken name or domain, a
        feature a provider of the flavor lacks.
    :raises Forbidden: the project is at its service limit.
    """
    doc = document.validate(body)
    flavor = get_flavor(session, doc["flavor_id"])
    check_capabilities(core, flavor, doc)
    _check_name(session, caller.project_id, doc["name"])
    _claim_slot(session, caller.project_id, core.settings.cdn.service_limit)
    now = utcnow()
    service = CdnService(id=str(uuid.uuid4()), project_id=caller.project_id, name=doc["name"], flavor_id=flavor.id,
                         document={k: v for k, v in doc.items() if k not in ("name", "flavor_id")},
                         status=CREATE_IN_PROGRESS, operator_status="enabled", created_at=now, updated_at=now)
    service.providers = [CdnProviderDetail(provider=name, position=i, status=DEPLOY_IN_PROGRESS, access_urls=[],
                                           certificates={}, updated_at=now)
                         for i, name in enumerate(flavor.provider_names)]
    session.add(service)
    try:
        session.flush()
    except IntegrityError:  # a racing create took the name between the check and now
        raise Invalid(f"name: Service with name {doc['name']} already exists") from None
    _claim_domains(session, service, list(enumerate(d["domain"] for d in doc["domains"])))
    for name in flavor.provider_names:
        enqueue_work(session, caller, DEPLOY, service, name, "create")
    return service


# -- update ------------------------------------------------------------------------------------------
PATCH_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 1, "maxItems": MAX_PATCH_OPERATIONS,
    "items": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": list(PATCH_OPS)},
            "path": {"type": "string", "maxLength": 1024},
            "from": {"type": "string", "maxLength": 1024},
            "value": {},
        },
        "required": ["op", "path"],
        "additionalProperties": False,
    },
}


def apply_patch(current: Mapping[str, Any], patch: list[Mapping[str, Any]]) -> Any:
    """Apply an RFC 6902 patch operation by operation, so a refusal names the operation.

    :raises Invalid: an operation on a field users do not set, or one the document refuses.
    """
    doc: Any = current
    for index, op in enumerate(patch):
        for key in ("path", "from"):
            if key in op:
                head = op[key].split("/")[1] if op[key].startswith("/") and op[key] != "/" else op[key]
                if head not in document.FIELDS:
                    raise Invalid(f"patch[{index}].{key}: {op[key] or '(the whole document)'} cannot be changed; "
                                  f"a patch may change {', '.join('/' + f for f in document.FIELDS)}")
        if op["op"] in ("add", "replace", "test") and "value" not in op:
            raise Invalid(f"patch[{index}].value: a {op['op']} operation needs a value")
        if op["op"] in ("move", "copy") and "from" not in op:
            raise Invalid(f"patch[{index}].from: a {op['op']} operation needs from")
        try:
            doc = jsonpatch.JsonPatch([dict(op)]).apply(doc)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise Invalid(f"patch[{index}]: {exc}") from None
    return doc


def update(core: CdnCore, session: Session, caller: Caller, service_id: str, patch: list[Mapping[str, Any]]) -> CdnService:
    """Apply a JSON Patch to the service's document, validate the result as a whole and redeploy it
    on every provider (a failed service is retried this way).

    :raises NotFound: :raises Invalid: the patch, the patched document, or the service is neither
        deployed nor failed.
    """
    service = get_service(session, caller.project_id, service_id, lock=True)
    if service.status not in (DEPLOYED, FAILED):
        raise Invalid(f"Service {service.id} is neither deployed nor failed (it is {service.status}); "
                      f"try again when it is")
    doc = document.validate(apply_patch(user_view(service), patch))
    flavor = get_flavor(session, doc["flavor_id"])
    check_capabilities(core, flavor, doc)
    if doc["name"] != service.name:
        _check_name(session, caller.project_id, doc["name"], service.id)
    old_domains = {d["domain"] for d in service.document["domains"]}
    new_domains = [(i, d["domain"]) for i, d in enumerate(doc["domains"])]
    gone = old_domains - {name for _, name in new_domains}
    if gone:
        session.execute(CdnDomain.__table__.delete().where(CdnDomain.service_id == service.id,
                                                            CdnDomain.domain.in_(gone)))
    _claim_domains(session, service, [(i, n) for i, n in new_domains if n not in old_domains])
    service.name = doc["name"]
    service.flavor_id = flavor.id
    service.document = {k: v for k, v in doc.items() if k not in ("name", "flavor_id")}
    redeploy(session, caller, service, flavor.provider_names)
    try:
        session.flush()
    except IntegrityError:
        raise Invalid(f"name: Service with name {doc['name']} already exists") from None
    return service


def redeploy(session: Session, caller: Caller, service: CdnService, providers: list[str]) -> None:
    """Deploy the service's current document on ``providers`` (its flavor's): rows of providers the
    flavor no longer lists are deleted from their provider, new ones deployed."""
    now = utcnow()
    existing = {d.provider: d for d in service.providers}
    for detail in existing.values():
        if detail.provider not in providers and detail.status != DELETE_IN_PROGRESS:
            detail.status, detail.updated_at = DELETE_IN_PROGRESS, now
            enqueue_work(session, caller, DELETE, service, detail.provider, "delete")
    for position, name in enumerate(providers):
        detail = existing.get(name)
        if detail is None:
            detail = CdnProviderDetail(provider=name, access_urls=[], certificates={})
            service.providers.append(detail)
        detail.position = position
        deploy_on(session, caller, service, detail)
    refresh_status(service)


def deploy_on(session: Session, caller: Caller, service: CdnService, detail: CdnProviderDetail) -> None:
    """Deploy the service's current document again on ``detail``'s provider (the caller refreshes
    the service's status)."""
    detail.status = UPDATE_IN_PROGRESS if detail.provider_service_id else DEPLOY_IN_PROGRESS
    detail.error_message = detail.error_class = None
    detail.updated_at = utcnow()
    enqueue_work(session, caller, DEPLOY, service, detail.provider, "update")


# -- delete and purge --------------------------------------------------------------------------------
def delete(session: Session, caller: Caller, service: CdnService) -> None:
    """Take the service off every provider; the record (and its domains) goes once all confirm.

    A provider row already being deleted keeps its running operation; a failed one is tried again.
    """
    now = utcnow()
    for detail in service.providers:
        if detail.status != DELETE_IN_PROGRESS:
            detail.status, detail.updated_at = DELETE_IN_PROGRESS, now
            detail.error_message = detail.error_class = None
            enqueue_work(session, caller, DELETE, service, detail.provider, "delete")
    refresh_status(service)


def parse_purge(url: str | None, hard: str | None, purge_all: str | None) -> tuple[str | None, bool]:
    """Poppy's purge arguments: ``url`` (a path; ``/dir/*`` purges a prefix; absent or ``/*``:
    everything, as Poppy's default), ``hard`` (true/false, default true), ``all`` (true/false; not
    with another url). Returns (the path, or None for everything; hard).

    :raises Invalid: naming the argument.
    """
    hard_value = True
    if hard is not None:
        if hard.lower() not in ("true", "false"):
            raise Invalid("hard can only be set to True or False")
        hard_value = hard.lower() == "true"
    everything = False
    if purge_all is not None:
        if purge_all.lower() not in ("true", "false"):
            raise Invalid("all can only be set to True or False")
        everything = purge_all.lower() == "true"
    if url is not None:
        try:
            url.encode("ascii")
        except UnicodeEncodeError:
            raise Invalid("url: non ascii character present in url") from None
        if not url.startswith("/") or len(url) > 1024 or any(c in url for c in "\r\n\t \"\\"):
            raise Invalid("url: a path starting with / (at most 1024 characters, no spaces or quotes)")
    if everything and url not in (None, "/*"):
        raise Invalid("Cannot provide all=true and a url at the same time")
    if everything or url in (None, "/*"):
        return None, hard_value
    return url, hard_value


def purge(core: CdnCore, session: Session, caller: Caller, service: CdnService, url: str | None,
          hard: bool) -> None:
    """Purge cached content on every provider (202 in the API).

    :raises Invalid: the service is not deployed, or a provider cannot purge what is asked (checked
        now, so a purge is never accepted and then failed for a missing feature).
    """
    if service.status != DEPLOYED:
        raise Invalid(f"Service {service.id} is not deployed (it is {service.status}); purge is allowed only "
                      f"when deployed")
    needed, field = (Capability.PURGE_ALL, "all") if url is None else (Capability.PURGE_URL, "url")
    for detail in service.providers:
        if needed not in core.driver(detail.provider).capabilities:
            raise Invalid(f"{field}: provider {detail.provider} cannot purge "
                          f"{'all content at once' if url is None else 'a path'}")
    for detail in service.providers:
        enqueue_work(session, caller, PURGE, service, detail.provider, "purge", url=url, hard=hard)
