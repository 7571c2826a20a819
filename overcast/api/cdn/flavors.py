"""/flavors and /flavors/{id}: wire format only."""

from __future__ import annotations

import falcon

from overcast.api.cdn.common import Links, admin_caller
from overcast.api.cdn.views import CdnViews
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core import policy
from overcast.core.cdn import CdnCore
from overcast.core.cdn import flavors as core


class Flavors:
    def __init__(self, cdn: CdnCore, views: CdnViews, links: Links):
        self.core, self.views, self.links = cdn, views, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.enforce("cdn:flavor:list", req.context.auth, {})
        with self.core.store.session() as session:
            resp.media = {"flavors": [self.views.flavor(f) for f in core.list_flavors(session)]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        admin_caller(req, "cdn:flavor:create")
        body = read_json(req, core.CREATE_SCHEMA)
        with self.core.store.session() as session:
            flavor = core.create(self.core, session, body)
            resp.media = self.views.flavor(flavor)
        resp.status = falcon.HTTP_201
        resp.set_header("Location", self.links.flavor(body["id"]))


class Flavor:
    def __init__(self, cdn: CdnCore, views: CdnViews):
        self.core, self.views = cdn, views

    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        policy.enforce("cdn:flavor:get", req.context.auth, {})
        with self.core.store.session() as session:
            resp.media = self.views.flavor(core.get(session, flavor_id))

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        admin_caller(req, "cdn:flavor:delete")
        with self.core.store.session() as session:
            core.delete(session, flavor_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, cdn: CdnCore, views: CdnViews, links: Links) -> None:
    registry.bind("cdn", "flavors", Flavors(cdn, views, links))
    registry.bind("cdn", "flavor", Flavor(cdn, views))
