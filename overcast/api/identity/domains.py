"""``/v3/domains``: create, list, show, update and delete (disabled domains only)."""

from __future__ import annotations

import falcon

from overcast.api.identity.common import Links, enforce, text_filters, truthy
from overcast.api.identity.projects import BOOLEAN, DESCRIPTION, ID_STRING, NAME, OPTIONS, TAGS
from overcast.api.identity.views import domain_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import domains as rules

_PROPERTIES = {"name": NAME, "description": DESCRIPTION, "enabled": BOOLEAN, "tags": TAGS, "options": OPTIONS}
CREATE_SCHEMA = {
    "type": "object", "required": ["domain"], "additionalProperties": False,
    "properties": {"domain": {"type": "object", "required": ["name"], "additionalProperties": True,
                              "properties": {**_PROPERTIES, "explicit_domain_id": ID_STRING}}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["domain"], "additionalProperties": False,
    "properties": {"domain": {"type": "object", "minProperties": 1, "additionalProperties": True,
                              "properties": _PROPERTIES}},
}


class Domains:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_domains")
        with self.core.store.session() as session:
            views = [domain_view(self.links, d) for d in rules.list_domains(
                session, name=req.get_param("name"), enabled=truthy(req.get_param("enabled")),
                matching=text_filters(req, ("name",)))]
        resp.media = {"domains": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_domain")
        ref = read_json(req, CREATE_SCHEMA)["domain"]
        with self.core.store.session() as session:
            view = domain_view(self.links, rules.create(session, ref))
        resp.status = falcon.HTTP_201
        resp.media = {"domain": view}


class DomainItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, domain_id: str) -> None:
        enforce(req, "identity:get_domain", {"domain_id": domain_id})
        with self.core.store.session() as session:
            view = domain_view(self.links, rules.get(session, domain_id))
        resp.media = {"domain": view}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, domain_id: str) -> None:
        enforce(req, "identity:update_domain", {"domain_id": domain_id})
        ref = read_json(req, UPDATE_SCHEMA)["domain"]
        with self.core.store.session() as session:
            domain = rules.get(session, domain_id)
            revocations = rules.update(session, domain, ref)
            view = domain_view(self.links, domain)
        self.core.revocations.revoke_all(revocations)
        resp.media = {"domain": view}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, domain_id: str) -> None:
        enforce(req, "identity:delete_domain", {"domain_id": domain_id})
        with self.core.store.session() as session:
            revocations = rules.delete_domain(session, rules.get(session, domain_id))
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_domains", Domains(core, links))
    registry.bind("identity", "v3_domains_with_id", DomainItem(core, links))
