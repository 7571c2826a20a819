"""The Keystone v3 (and legacy v2.0) API: each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.identity import (access_rules, app_credentials, assignments, catalog, credentials, domain_config, domains,
                                   ec2, endpoint_groups, endpoints, groups, inherit, oauth1, policy_store, projects,
                                   roles, tokens, trusts, users, v2, versions)
from overcast.api.identity.common import Links
from overcast.api.routing import Registry
from overcast.core.identity import IdentityCore

_FAMILIES = (versions, tokens, v2, domains, projects, users, groups, roles, assignments,
             app_credentials, credentials, catalog, policy_store, inherit, ec2, endpoint_groups, domain_config,
             trusts, oauth1, access_rules)


def register(registry: Registry, core: IdentityCore) -> None:
    endpoints.declare(registry)
    links = Links(core.settings.public_url)
    for family in _FAMILIES:
        family.bind(registry, core, links)
