"""Domain-specific configuration: ``/v3/domains/{domain_id}/config[/{group}[/{option}]]`` and the
defaults at ``/v3/domains/config[/{group}[/{option}]]/default``. Admin only, as in Keystone."""

from __future__ import annotations

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import domain_config as core_config


#: The body is ``{"config": {...}}``; what ``config`` may hold is checked by the core (Keystone
#: answers an unsupported group or option with 403, not 400).
SCHEMA = {"type": "object", "required": ["config"], "properties": {"config": {"type": "object"}}}


class _Resource:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links


class DomainConfigResource(_Resource):
    """Serves the whole config, one group and one option (the URL's ``group``/``option`` say which)."""

    def on_put(self, req: falcon.Request, resp: falcon.Response, domain_id: str) -> None:
        enforce(req, "identity:create_domain_config", {"domain_id": domain_id})
        config = read_json(req, SCHEMA)["config"]
        with self.core.store.session() as session:
            shown, created = core_config.create(session, domain_id, config)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = {"config": shown}

    def on_get(self, req: falcon.Request, resp: falcon.Response, domain_id: str, group: str | None = None,
               option: str | None = None) -> None:
        enforce(req, "identity:get_domain_config", {"domain_id": domain_id})
        with self.core.store.session() as session:
            resp.media = {"config": core_config.get(session, domain_id, group, option)}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, domain_id: str, group: str | None = None,
                 option: str | None = None) -> None:
        enforce(req, "identity:update_domain_config", {"domain_id": domain_id})
        config = read_json(req, SCHEMA)["config"]
        with self.core.store.session() as session:
            resp.media = {"config": core_config.update(session, domain_id, config, group, option)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, domain_id: str, group: str | None = None,
                  option: str | None = None) -> None:
        enforce(req, "identity:delete_domain_config", {"domain_id": domain_id})
        with self.core.store.session() as session:
            core_config.delete(session, domain_id, group, option)
        resp.status = falcon.HTTP_204


class DomainConfigDefault(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, group: str | None = None,
               option: str | None = None) -> None:
        enforce(req, "identity:get_domain_config_default")
        resp.media = {"config": core_config.defaults(group, option)}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    for suffix in ("", "_group", "_option"):
        registry.bind("identity", f"v3_domain_config{suffix}", DomainConfigResource(core, links))
        registry.bind("identity", f"v3_domain_config{suffix}_default", DomainConfigDefault(core, links))
