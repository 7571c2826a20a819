"""SSL certificates (Poppy's ``/ssl_certificate``): one per domain, owned by the project of the
token that asked (never a project named in the body: Poppy took it from the body), provisioned on
every provider of the flavor that issues certificates, by operations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.core.cdn import CdnCore
from overcast.core.cdn.document import is_hostname
from overcast.core.cdn.services import (DELETE_IN_PROGRESS as SERVICE_DELETE_IN_PROGRESS, Caller, deploy_on,
                                        get_flavor, locked_service, refresh_status)
from overcast.core.errors import Invalid, NotFound
from overcast.drivers.cdn.base import Capability
from overcast.ops.engine import enqueue
from overcast.store.cdn import CdnCertificate, CdnDomain, CdnService
from overcast.store.models import utcnow

CREATE = "cdn.certificate.create"
DELETE = "cdn.certificate.delete"
RESOURCE = "cdn_certificate"
CERT_TYPES = ("san", "sni", "custom")
STATUSES = ("create_in_progress", "deployed", "failed", "cancelled")
DELETE_IN_PROGRESS = "delete_in_progress"

CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "cert_type": {"type": "string", "enum": list(CERT_TYPES)},
        "domain_name": {"type": "string", "minLength": 3, "maxLength": 253},
        "project_id": {"type": "string", "maxLength": 256},
    },
    "required": ["flavor_id", "cert_type", "domain_name"],
    "additionalProperties": False,
}

#: Poppy's admin PATCH of a certificate's status
STATUS_PATCH_SCHEMA: dict[str, Any] = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": ["replace"]},
            "path": {"type": "string", "enum": ["status"]},
            "value": {"type": "string", "enum": list(STATUSES)},
        },
        "required": ["op", "path", "value"],
        "additionalProperties": False,
    },
}


def check_domain(domain: str) -> str:
    """:raises Invalid: not a valid domain (Poppy's message)."""
    name = domain.strip().lower()
    if not is_hostname(name):
        raise Invalid(f"Domain {domain} is not valid")
    return name


def _not_found(domain: str) -> NotFound:
    return NotFound(f"certificate could not be found for domain : {domain}")


def get(session: Session, project_id: str | None, domain: str) -> CdnCertificate:
    """The certificate for ``domain`` (of ``project_id``; any project's for None).

    :raises Invalid: a malformed domain. :raises NotFound:
    """
    name = check_domain(domain)
    cert = session.get(CdnCertificate, name)
    if cert is None or (project_id is not None and cert.project_id != project_id):
        raise _not_found(domain)
    return cert


def create(core: CdnCore, session: Session, caller: Caller, body: dict[str, Any]) -> CdnCertificate:
    """Record a certificate and provision it on every provider of the flavor (202 in the API).

    :raises Invalid: a project in the body that is not the token's, an unknown flavor, a flavor with
        no provider that issues certificates, a domain another project holds, a domain that has one.
    """
    if "project_id" in body and body["project_id"] != caller.project_id:
        raise Invalid("project_id: a certificate belongs to the project of the token that asks for it; "
                      "leave project_id out")
    domain = check_domain(body["domain_name"])
    flavor = get_flavor(session, body["flavor_id"])
    issuers = [p for p in flavor.provider_names if Capability.CERTIFICATES in core.driver(p).capabilities]
    if not issuers:
        raise Invalid(f"flavor_id: no provider of flavor {flavor.id} provisions certificates")
    for provider in issuers:
        if body["cert_type"] not in core.driver(provider).certificate_types:
            raise Invalid(f"cert_type: provider {provider} of flavor {flavor.id} does not issue "
                          f"{body['cert_type']} certificates")
    owner = session.scalar(select(CdnDomain.project_id).where(CdnDomain.domain == domain))
    if owner is not None and owner != caller.project_id:
        raise Invalid(f"domain_name: Domain {domain} has already been taken")
    if session.get(CdnCertificate, domain) is not None:
        raise Invalid(f"domain_name: a certificate for {domain} exists already")
    now = utcnow()
    cert = CdnCertificate(domain_name=domain, project_id=caller.project_id, flavor_id=flavor.id,
                          cert_type=body["cert_type"], status="create_in_progress",
                          cert_details={p: {"status": "create_in_progress"} for p in issuers},
                          created_at=now, updated_at=now)
    session.add(cert)
    try:
        session.flush()
    except IntegrityError:
        raise Invalid(f"domain_name: a certificate for {domain} exists already") from None
    for provider in issuers:
        _enqueue(session, caller, CREATE, cert, provider, "create")
    return cert


def delete(session: Session, caller: Caller, cert: CdnCertificate) -> None:
    """Remove the certificate from its providers; the record goes once all confirm."""
    cert.status = DELETE_IN_PROGRESS
    cert.updated_at = utcnow()
    for provider in list(cert.cert_details):
        _enqueue(session, caller, DELETE, cert, provider, "delete")
    if not cert.cert_details:
        session.delete(cert)


def _enqueue(session: Session, caller: Caller, kind: str, cert: CdnCertificate, provider: str, action: str) -> None:
    enqueue(session, kind=kind, cloud=provider, resource_type=RESOURCE, resource_id=cert.domain_name,
            params={"provider": provider}, action=action, request_id=caller.request_id, user_id=caller.user_id,
            project_id=cert.project_id)


def locked(session: Session, domain: str) -> CdnCertificate | None:
    """The certificate, locked by a write before it is read (two providers answering at once
    never both work from a stale view; see :func:`overcast.core.cdn.services.locked_service`)."""
    touched = session.execute(update(CdnCertificate).where(CdnCertificate.domain_name == domain)
                              .values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not touched:
        return None
    return session.scalar(select(CdnCertificate).where(CdnCertificate.domain_name == domain)
                          .execution_options(populate_existing=True))


def record(cert: CdnCertificate, provider: str, status: str, message: str | None, details: dict[str, Any]) -> None:
    """A provider's answer about the certificate; the overall status follows: any failed -> failed,
    all deployed -> deployed, else create_in_progress."""
    entry: dict[str, Any] = {"status": status}
    if message:
        entry["message"] = message
    if details:
        entry["details"] = details
    cert.cert_details = {**cert.cert_details, provider: entry}
    statuses = {v.get("status") for v in cert.cert_details.values()}
    if cert.status != DELETE_IN_PROGRESS:
        cert.status = ("failed" if "failed" in statuses else "deployed" if statuses == {"deployed"}
                       else "create_in_progress")
    cert.updated_at = utcnow()


def redeploy_served(session: Session, caller: Caller, cert: CdnCertificate, provider: str) -> int:
    """Deploy again, on ``provider``, the project's services that serve the certificate's domain
    over https with a certificate of their own (not ``shared``): once it is deployed they are
    served with it, once it is deleted they say what they lack. Returns how many."""
    ids = session.scalars(select(CdnService.id).join(CdnDomain, CdnDomain.service_id == CdnService.id).where(
        CdnDomain.domain == cert.domain_name, CdnDomain.project_id == cert.project_id)).all()
    count = 0
    for service_id in ids:
        service = locked_service(session, service_id)
        if service is None or not any(d["domain"] == cert.domain_name and d.get("protocol") == "https"
                                      and d.get("certificate") != "shared" for d in service.document["domains"]):
            continue
        for detail in service.providers:
            if detail.provider == provider and detail.status != SERVICE_DELETE_IN_PROGRESS:
                deploy_on(session, caller, service, detail)
                count += 1
        refresh_status(service)
    return count


def forget(session: Session, cert: CdnCertificate, provider: str) -> None:
    """A provider removed the certificate; the record goes with the last one."""
    cert.cert_details = {k: v for k, v in cert.cert_details.items() if k != provider}
    cert.updated_at = utcnow()
    if not cert.cert_details:
        session.delete(cert)


def by_status(session: Session, status: str) -> list[CdnCertificate]:
    """:raises Invalid: an unknown status (Poppy's message)."""
    if status not in STATUSES:
        raise Invalid(f"Unknown status type {status} present, Valid status types are: {list(STATUSES)}")
    return list(session.scalars(select(CdnCertificate).where(CdnCertificate.status == status)
                                .order_by(CdnCertificate.domain_name)))


def set_status(session: Session, domain: str, status: str) -> None:
    """An operator's correction of a certificate's status. :raises NotFound:"""
    cert = get(session, None, domain)
    cert.status = status
    cert.cert_details = {k: {**v, "status": status} for k, v in cert.cert_details.items()}
    cert.updated_at = utcnow()

