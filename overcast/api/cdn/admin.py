"""/admin/...: the operator routes, every one behind the admin role. Wire format only."""

from __future__ import annotations

import falcon

from overcast.api.cdn.common import accepted, admin_caller, one
from overcast.api.cdn.views import CdnViews
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.cdn import CdnCore
from overcast.core.cdn import admin as core
from overcast.core.cdn import certificates as certs


class _Base:
    def __init__(self, cdn: CdnCore, views: CdnViews):
        self.core, self.views = cdn, views


class AdminServices(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        admin_caller(req, "cdn:admin:services")
        with self.core.store.session() as session:
            rows = core.services_by_status(session, one(req, "status") or "")
        resp.media = [{"project_id": p, "service_id": s} for p, s in rows]

    on_head = on_get


class ServiceAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = admin_caller(req, "cdn:admin:service_action")
        body = read_json(req, core.ACTION_SCHEMA)
        with self.core.store.session() as session:
            core.act(self.core, session, caller, body)
        accepted(resp)


class ServiceStatus(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        admin_caller(req, "cdn:admin:service_status")
        body = read_json(req, core.STATUS_SCHEMA)
        with self.core.store.session() as session:
            core.force_status(session, body)
        resp.status = falcon.HTTP_201


class Limit(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        admin_caller(req, "cdn:admin:limits")
        validate(project_id, core.PROJECT_ID)
        with self.core.store.session() as session:
            resp.media = {"limit": core.get_limit(self.core, session, project_id), "project_id": project_id}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        admin_caller(req, "cdn:admin:limits")
        validate(project_id, core.PROJECT_ID)
        body = read_json(req, core.LIMIT_SCHEMA)
        with self.core.store.session() as session:
            core.set_limit(session, project_id, body["limit"])
        resp.status = falcon.HTTP_201


class Domain(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, domain_name: str) -> None:
        admin_caller(req, "cdn:admin:domains")
        with self.core.store.session() as session:
            resp.media = self.views.service(core.service_by_domain(session, domain_name))

    on_head = on_get


class AdminCertificates(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        admin_caller(req, "cdn:admin:certificates")
        with self.core.store.session() as session:
            resp.media = [self.views.certificate(c) for c in certs.by_status(session, one(req, "status") or "")]

    on_head = on_get


class AdminCertificate(_Base):
    def on_patch(self, req: falcon.Request, resp: falcon.Response, domain_name: str) -> None:
        admin_caller(req, "cdn:admin:certificates")
        patch = read_json(req, certs.STATUS_PATCH_SCHEMA)
        with self.core.store.session() as session:
            certs.set_status(session, domain_name, patch[0]["value"])
        resp.status = falcon.HTTP_204


def bind(registry: Registry, cdn: CdnCore, views: CdnViews) -> None:
    registry.bind("cdn", "admin_services", AdminServices(cdn, views))
    registry.bind("cdn", "admin_service_action", ServiceAction(cdn, views))
    registry.bind("cdn", "admin_service_status", ServiceStatus(cdn, views))
    registry.bind("cdn", "admin_limit", Limit(cdn, views))
    registry.bind("cdn", "admin_domain", Domain(cdn, views))
    registry.bind("cdn", "admin_certificates", AdminCertificates(cdn, views))
    registry.bind("cdn", "admin_certificate", AdminCertificate(cdn, views))
