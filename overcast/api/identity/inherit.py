"""OS-INHERIT: grants on a domain or project that are inherited by the projects below it.

``/v3/OS-INHERIT/{domains,projects}/{id}/{users,groups}/{id}/roles/{role_id}/inherited_to_projects``
(PUT, GET/HEAD to check, DELETE) and, on domains, the list ``.../roles/inherited_to_projects``.
The grant resources are the ones in assignments.py with ``inherited=True``; the store keeps the
flag on ``Assignment.inherited``, which effective roles and ``/v3/role_assignments`` already honour.
"""

from __future__ import annotations

from overcast.api.identity.assignments import GrantItem, GrantList
from overcast.api.identity.common import Links
from overcast.api.routing import Registry
from overcast.core.identity import IdentityCore


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    for actor in ("user", "group"):
        registry.bind("identity", f"v3_os_inherit_domain_{actor}_roles",
                      GrantList(core, links, actor, "domain", inherited=True))
        for target in ("domain", "project"):
            registry.bind("identity", f"v3_os_inherit_{target}_{actor}_role",
                          GrantItem(core, links, actor, target, inherited=True))
