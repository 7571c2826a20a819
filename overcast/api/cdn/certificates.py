"""/ssl_certificate and /ssl_certificate/{domain}: wire format only. The project is the token's."""

from __future__ import annotations

import falcon

from overcast.api.cdn.common import accepted, project_caller
from overcast.api.cdn.views import CdnViews
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.cdn import CdnCore
from overcast.core.cdn import certificates as core


class Certificates:
    def __init__(self, cdn: CdnCore):
        self.core = cdn

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        caller = project_caller(req, "cdn:ssl_certificate:create")
        body = read_json(req, core.CREATE_SCHEMA)
        with self.core.store.session() as session:
            core.create(self.core, session, caller, body)
        accepted(resp)


class Certificate:
    def __init__(self, cdn: CdnCore, views: CdnViews):
        self.core, self.views = cdn, views

    def on_get(self, req: falcon.Request, resp: falcon.Response, domain_name: str) -> None:
        caller = project_caller(req, "cdn:ssl_certificate:get")
        with self.core.store.session() as session:
            resp.media = [self.views.certificate(core.get(session, caller.project_id, domain_name))]

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, domain_name: str) -> None:
        caller = project_caller(req, "cdn:ssl_certificate:delete")
        with self.core.store.session() as session:
            core.delete(session, caller, core.get(session, caller.project_id, domain_name))
        accepted(resp)


def bind(registry: Registry, cdn: CdnCore, views: CdnViews) -> None:
    registry.bind("cdn", "ssl_certificates", Certificates(cdn))
    registry.bind("cdn", "ssl_certificate", Certificate(cdn, views))
