"""The CDN's operations: ``cdn.deploy`` (create or update a service on one provider),
``cdn.delete``, ``cdn.purge``, ``cdn.certificate.create`` and ``cdn.certificate.delete``.

One operation per (service, provider); its ``cloud`` is the provider's name, so each provider has
its own circuit breaker and a slow CloudFront never holds up a Varnish edge. Deploys and deletes of
one service on one provider run in the order they were asked (a later one waits, polling, while an
earlier one is unfinished), so a delete never overtakes the create that makes what it deletes.

A deploy always sends the service's *current* document, so it is idempotent and a retry (or a
later PATCH of a failed service) simply converges. A delete removes the provider row only when the
provider confirms the service is gone; the service record and its domain claims go with the last
row: nothing is archived while a provider may still hold it (Poppy archived on a failed delete and
left orphans). Failures come back through ``on_failure`` hooks in the engine's transaction: the
provider row goes to ``failed`` with the provider's one-line message, which the service shows in
``errors``.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.cdn import FAMILY, CdnCore
from overcast.core.cdn import certificates as certs
from overcast.core.cdn.services import (DELETE, DELETE_IN_PROGRESS, DEPLOY, DEPLOYED, FAILED, PURGE, Caller,
                                        locked_service, refresh_status, release_slot, spec_of)
from overcast.drivers.cdn.base import CertificateRequest, CertificateState, DeployState, ProviderService, PurgeRequest
from overcast.drivers.errors import BuildFailed, DriverError, NotFound
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import PENDING, RUNNING, Operation
from overcast.store.cdn import CdnCertificate, CdnProviderDetail, CdnService
from overcast.store.models import utcnow

#: how often a deployment, a take-down or a purge is polled on the provider
POLL_SECONDS = 0.5
#: how often an operation waiting for an earlier one on the same provider looks again
WAIT_SECONDS = 0.2


def _failure(session: Session, job: Job) -> tuple[str, str | None]:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return (op.error or "Unknown error"), op.error_kind


def _detail(service: CdnService | None, provider: str) -> CdnProviderDetail | None:
    if service is None:
        return None
    return next((d for d in service.providers if d.provider == provider), None)


class CdnHandlers:
    def __init__(self, core: CdnCore, poll_seconds: float = POLL_SECONDS):
        self.core = core
        self.poll_seconds = poll_seconds

    @staticmethod
    def _caller(job: Job) -> Caller:
        """Who asked for ``job``, for the operations it leads to."""
        return Caller(job.project_id or "", job.user_id, job.request_id)

    @staticmethod
    def _waiting(session: Session, job: Job) -> bool:
        """An earlier deploy or delete of this service on this provider is unfinished."""
        rows = session.execute(select(Operation.id, Operation.params, Operation.created_at).where(
            Operation.resource_type == job.resource_type, Operation.resource_id == job.resource_id,
            Operation.kind.in_((DEPLOY, DELETE)), Operation.state.in_((PENDING, RUNNING)),
            Operation.id != job.id, Operation.created_at <= job.created_at)).all()
        mine = (job.created_at, job.id)
        return any((row.params or {}).get("provider") == job.params["provider"] and (row.created_at, row.id) < mine
                   for row in rows)

    # -- deploy -----------------------------------------------------------------------------------
    def deploy(self, job: Job, ctx: Any) -> Any:
        provider = job.params["provider"]
        driver = self.core.driver(provider)
        call = job.call_context()
        checkpoint = job.checkpoint or {}
        if not checkpoint.get("submitted"):
            with ctx.session() as session:
                if self._waiting(session, job):
                    return poll_again(WAIT_SECONDS)
                service = session.get(CdnService, job.resource_id)
                detail = _detail(service, provider)
                if detail is None or detail.status == DELETE_IN_PROGRESS:
                    return done({"skipped": "the service is gone or being deleted from this provider"})
                spec, provider_id = spec_of(service), detail.provider_service_id
            if provider_id is None:
                found = driver.find(call, spec.service_id)
                provider_id = found.provider_service_id if found is not None else None
            info = None
            if provider_id is not None:
                try:
                    info = driver.update(call, provider_id, spec)
                except NotFound:  # gone behind our back: make it again
                    info = None
            if info is None:
                info = driver.create(call, spec)
            ctx.save_checkpoint({"submitted": True, "provider_service_id": info.provider_service_id})
            with ctx.session() as session:
                detail = _detail(locked_service(session, job.resource_id), provider)
                if detail is not None:
                    detail.provider_service_id = info.provider_service_id
                    detail.updated_at = utcnow()
        else:
            info = driver.get(call, checkpoint["provider_service_id"])
        if info.state is DeployState.IN_PROGRESS:
            return poll_again(self.poll_seconds)
        if info.state is DeployState.FAILED:
            raise BuildFailed(info.message or f"Provider {provider} failed to deploy the service")
        with ctx.session() as session:
            service = locked_service(session, job.resource_id)
            detail = _detail(service, provider)
            if detail is not None and detail.status != DELETE_IN_PROGRESS:
                self._deployed(detail, info)
                refresh_status(service)
        return done({"provider_service_id": info.provider_service_id})

    @staticmethod
    def _deployed(detail: CdnProviderDetail, info: ProviderService) -> None:
        detail.status = DEPLOYED
        detail.provider_service_id = info.provider_service_id
        detail.access_urls = [{"domain": a.domain, "provider_url": a.provider_url} for a in info.access_urls]
        detail.certificates = {domain: getattr(state, "value", state) for domain, state in info.certificates.items()}
        detail.error_message = detail.error_class = None
        detail.updated_at = utcnow()

    def deploy_failed(self, job: Job, session: Session) -> None:
        service = locked_service(session, job.resource_id)
        detail = _detail(service, job.params["provider"])
        if detail is not None and detail.status != DELETE_IN_PROGRESS:
            detail.status = FAILED
            detail.error_message, detail.error_class = _failure(session, job)
            detail.updated_at = utcnow()
            refresh_status(service)

    # -- delete -----------------------------------------------------------------------------------
    def delete(self, job: Job, ctx: Any) -> Any:
        provider = job.params["provider"]
        driver = self.core.driver(provider)
        call = job.call_context()
        with ctx.session() as session:
            if self._waiting(session, job):
                return poll_again(WAIT_SECONDS)
            detail = _detail(session.get(CdnService, job.resource_id), provider)
            if detail is None:
                return done({"skipped": "already deleted from this provider"})
            provider_id = detail.provider_service_id
        if provider_id is None:  # a create may have made it before its id was recorded
            found = driver.find(call, job.resource_id)
            provider_id = found.provider_service_id if found is not None else None
        if provider_id is not None and not driver.delete(call, provider_id):
            return poll_again(self.poll_seconds)
        with ctx.session() as session:
            service = locked_service(session, job.resource_id)
            detail = _detail(service, provider)
            if detail is not None:
                service.providers.remove(detail)
            if service is not None and not service.providers:
                # every provider confirmed: the record goes, with its domain claims and its count
                release_slot(session, service.project_id)
                session.delete(service)
            elif service is not None:
                refresh_status(service)
        return done({"provider_service_id": provider_id})

    def delete_failed(self, job: Job, session: Session) -> None:
        service = locked_service(session, job.resource_id)
        detail = _detail(service, job.params["provider"])
        if detail is not None:
            detail.status = FAILED
            message, detail.error_class = _failure(session, job)
            detail.error_message = f"Delete failed: {message}"
            detail.updated_at = utcnow()
            refresh_status(service)

    # -- purge ------------------------------------------------------------------------------------
    def purge(self, job: Job, ctx: Any) -> Any:
        provider = job.params["provider"]
        driver = self.core.driver(provider)
        call = job.call_context()
        with ctx.session() as session:
            detail = _detail(session.get(CdnService, job.resource_id), provider)
            if detail is None or detail.status == DELETE_IN_PROGRESS:
                return done({"skipped": "the service is gone or being deleted"})
            provider_id = detail.provider_service_id
        if provider_id is None:
            raise DriverError(f"The service is not deployed on provider {provider}")
        purge_id = (job.checkpoint or {}).get("purge_id")
        if purge_id is None:
            purge_id = driver.purge(call, provider_id, PurgeRequest(url=job.params.get("url"),
                                                                    hard=bool(job.params.get("hard", True))))
            if purge_id is None:
                return done({"purged": job.params.get("url") or "everything"})
            ctx.save_checkpoint({"purge_id": purge_id})
        if driver.purge_done(call, provider_id, purge_id):
            return done({"purged": job.params.get("url") or "everything", "purge_id": purge_id})
        return poll_again(self.poll_seconds)

    def purge_failed(self, job: Job, session: Session) -> None:
        """The service stays deployed (its content is still served); the failure shows in ``errors``."""
        service = locked_service(session, job.resource_id)
        detail = _detail(service, job.params["provider"])
        if detail is not None:
            message, detail.error_class = _failure(session, job)
            detail.error_message = f"Purge of {job.params.get('url') or 'all content'} failed: {message}"
            detail.updated_at = utcnow()

    # -- certificates -----------------------------------------------------------------------------
    def certificate_create(self, job: Job, ctx: Any) -> Any:
        provider = job.params["provider"]
        driver = self.core.driver(provider)
        call = job.call_context()
        with ctx.session() as session:
            cert = session.get(CdnCertificate, job.resource_id)
            if cert is None or cert.status == certs.DELETE_IN_PROGRESS:
                return done({"skipped": "the certificate is gone or being deleted"})
            request = CertificateRequest(domain=cert.domain_name, cert_type=cert.cert_type,
                                         project_id=cert.project_id)
        info = (driver.get_certificate(call, request.domain) if (job.checkpoint or {}).get("submitted")
                else driver.create_certificate(call, request))
        if not (job.checkpoint or {}).get("submitted"):
            ctx.save_checkpoint({"submitted": True})
        if info.state is CertificateState.CREATE_IN_PROGRESS:
            return poll_again(self.poll_seconds)
        with ctx.session() as session:
            cert = certs.locked(session, job.resource_id)
            if cert is not None and cert.status != certs.DELETE_IN_PROGRESS:
                certs.record(cert, provider, info.state.value, info.message, dict(info.details))
                if info.state is CertificateState.DEPLOYED:
                    certs.redeploy_served(session, self._caller(job), cert, provider)
        if info.state is CertificateState.FAILED:
            raise BuildFailed(info.message or f"Provider {provider} could not issue the certificate")
        return done({"status": info.state.value})

    def certificate_create_failed(self, job: Job, session: Session) -> None:
        cert = certs.locked(session, job.resource_id)
        if cert is not None and cert.status != certs.DELETE_IN_PROGRESS:
            certs.record(cert, job.params["provider"], CertificateState.FAILED.value, _failure(session, job)[0], {})

    def certificate_delete(self, job: Job, ctx: Any) -> Any:
        provider = job.params["provider"]
        with ctx.session() as session:
            cert = session.get(CdnCertificate, job.resource_id)
            if cert is None:
                return done({"skipped": "already deleted"})
            domain = cert.domain_name
        if not self.core.driver(provider).delete_certificate(job.call_context(), domain):
            return poll_again(self.poll_seconds)  # the provider is still letting go of it
        with ctx.session() as session:
            cert = certs.locked(session, job.resource_id)
            if cert is not None:
                certs.redeploy_served(session, self._caller(job), cert, provider)
                certs.forget(session, cert, provider)
        return done()

    def certificate_delete_failed(self, job: Job, session: Session) -> None:
        cert = certs.locked(session, job.resource_id)
        if cert is not None:
            certs.record(cert, job.params["provider"], FAILED, f"Delete failed: {_failure(session, job)[0]}", {})


def setup_for(core: CdnCore, poll_seconds: float = POLL_SECONDS) -> Callable[[Any], None]:
    """The ops setup for the CDN: ``OpsRuntime(..., setups=[..., setup_for(cdn)])``."""
    handlers = CdnHandlers(core, poll_seconds)

    def setup(runtime: Any) -> None:
        register = runtime.registry.register
        register(DEPLOY, handlers.deploy, on_failure=handlers.deploy_failed, event="cdn_deploy_service",
                 timeout=300, family=FAMILY)
        register(DELETE, handlers.delete, on_failure=handlers.delete_failed, event="cdn_delete_service",
                 timeout=300, when_open="defer", family=FAMILY)
        register(PURGE, handlers.purge, on_failure=handlers.purge_failed, event="cdn_purge_service",
                 timeout=120, family=FAMILY)
        register(certs.CREATE, handlers.certificate_create, on_failure=handlers.certificate_create_failed,
                 event="cdn_create_certificate", timeout=300, family=FAMILY)
        register(certs.DELETE, handlers.certificate_delete, on_failure=handlers.certificate_delete_failed,
                 event="cdn_delete_certificate", timeout=120, when_open="defer", family=FAMILY)

    return setup
