"""The CDN's policy rules: declared once (``overcast.core.cdn.policies.RULES``), loaded by the
app factory, every action the API enforces declared, every admin route an
admin's (docs/decisions/0031-cdn.md; Poppy's admin routes had no authorization)."""

from __future__ import annotations

import re
from pathlib import Path

import overcast.api.cdn
from overcast.core.cdn.policies import RULES
from overcast.core.context import AuthContext

API = Path(overcast.api.cdn.__file__).parent


def _enforced_actions() -> set[str]:
    found: set[str] = set()
    for source in API.glob("*.py"):
        found |= set(re.findall(r'"(cdn:[a-z_:]+)"', source.read_text()))
    return found


def test_every_action_the_api_enforces_is_declared():
    enforced = _enforced_actions()
    assert len(enforced) >= 20
    assert enforced - set(RULES) == set()
    assert set(RULES) - enforced - {"cdn:home"} == set(), "a declared rule nothing enforces"


def test_the_app_factory_loads_them(cloud):
    """Declared in overcast.core.cdn.policies, loaded by the app factory (nothing registers on
    import: tests/drills/test_policy.py checks that for every service)."""
    for action, rule in RULES.items():
        assert cloud.app.policy.rules[action] is rule


def _ctx(roles: list[str], project: str = "p1") -> AuthContext:
    return AuthContext(user_id="u1", user_domain_id="default", methods=("password",), roles=frozenset(roles),
                       audit_ids=("a",), issued_at=0.0, expires_at=1e12, project_id=project,
                       project_domain_id="default")


def test_admin_routes_need_the_admin_role_and_project_routes_the_project(cloud):
    admin_actions = [a for a in RULES if a.startswith("cdn:admin:")] + ["cdn:flavor:create", "cdn:flavor:delete"]
    for action in admin_actions:
        assert not cloud.app.policy.allowed(action, _ctx(["member", "reader"]), {})
        assert cloud.app.policy.allowed(action, _ctx(["admin"], project="other"), {})
    assert cloud.app.policy.allowed("cdn:service:create", _ctx(["member"]), {"project_id": "p1"})
    assert not cloud.app.policy.allowed("cdn:service:create", _ctx(["member"]), {"project_id": "p2"})
    assert not cloud.app.policy.allowed("cdn:service:create", _ctx(["reader"]), {"project_id": "p1"})
    assert cloud.app.policy.allowed("cdn:service:list", _ctx(["reader"]), {"project_id": "p1"})
