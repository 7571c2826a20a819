"""The CDN's policy rules, declared in one place as ``RULES`` (``overcast.core.<service>.policies.RULES``,
the declaration :func:`overcast.core.policy.load` reads when the app factory loads the table).

Services, purges, analytics and certificates belong to the project of the token: members write,
readers read. Flavors are read by anyone with a token and managed by admins. Every ``/admin``
route needs the admin role (Poppy's admin routes had no authorization).
"""

from __future__ import annotations

from typing import Mapping

from overcast.core.policy import ADMIN, ANYONE, PROJECT_MEMBER, PROJECT_READER, Rule

RULES: Mapping[str, Rule] = {
    "cdn:home": ANYONE,
    "cdn:health": ANYONE,
    "cdn:service:list": PROJECT_READER,
    "cdn:service:get": PROJECT_READER,
    "cdn:service:create": PROJECT_MEMBER,
    "cdn:service:update": PROJECT_MEMBER,
    "cdn:service:delete": PROJECT_MEMBER,
    "cdn:service:purge": PROJECT_MEMBER,
    "cdn:service:analytics": PROJECT_READER,
    "cdn:flavor:list": ANYONE,
    "cdn:flavor:get": ANYONE,
    "cdn:flavor:create": ADMIN,
    "cdn:flavor:delete": ADMIN,
    "cdn:ssl_certificate:create": PROJECT_MEMBER,
    "cdn:ssl_certificate:get": PROJECT_READER,
    "cdn:ssl_certificate:delete": PROJECT_MEMBER,
    "cdn:admin:services": ADMIN,
    "cdn:admin:service_action": ADMIN,
    "cdn:admin:service_status": ADMIN,
    "cdn:admin:limits": ADMIN,
    "cdn:admin:domains": ADMIN,
    "cdn:admin:certificates": ADMIN,
}
