"""Who may do what: Keystone's default roles (admin implies member implies reader) as rules.

A rule is a predicate over the caller (:class:`AuthContext`) and the target (a dict naming the
resource's owner ids). Rules compose with ``|`` and ``&``. They follow the services' defaults with
``enforce_scope`` off, as DevStack runs: the admin role on any scope is the cloud administrator.

Each service declares its rules in one place, ``overcast.core.<service>.policies.RULES``; the app
factory loads them into a :class:`Policy` (:func:`load`) and makes it current for each request.
:func:`enforce` raises :class:`~overcast.core.errors.Forbidden`
(docs/decisions/0005-policy.md, 0028-policy-declarations.md).
"""

from __future__ import annotations

import contextvars
import functools
import importlib
from typing import Any, Callable, Mapping

from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden

Target = Mapping[str, Any]


class Rule:
    def __init__(self, check: Callable[[AuthContext, Target], bool], text: str):
        self.check = check
        self.text = text

    def __call__(self, ctx: AuthContext, target: Target) -> bool:
        return self.check(ctx, target)

    def __or__(self, other: "Rule") -> "Rule":
        return Rule(lambda c, t: self.check(c, t) or other.check(c, t), f"({self.text} or {other.text})")

    def __and__(self, other: "Rule") -> "Rule":
        return Rule(lambda c, t: self.check(c, t) and other.check(c, t), f"({self.text} and {other.text})")

    def __repr__(self) -> str:
        return f"Rule({self.text})"


def role(name: str) -> Rule:
    return Rule(lambda c, t: name in c.roles, f"role:{name}")


def matches(ctx_attr: str, target_key: str) -> Rule:
    """The caller's ``ctx_attr`` equals the target's ``target_key`` (and is set)."""
    def check(c: AuthContext, t: Target) -> bool:
        mine = getattr(c, ctx_attr)
        return mine is not None and mine == t.get(target_key)
    return Rule(check, f"{ctx_attr}:%(target.{target_key})s")


ANYONE = Rule(lambda c, t: True, "@")
ADMIN = role("admin")
SYSTEM_SCOPED = Rule(lambda c, t: c.system, "system_scope:all")
SYSTEM_READER = role("reader") & SYSTEM_SCOPED
ADMIN_OR_SYSTEM_READER = ADMIN | SYSTEM_READER
DOMAIN_READER = role("reader") & matches("domain_id", "domain_id")
DOMAIN_MANAGER = role("manager") & matches("domain_id", "domain_id")
OWNER_USER = matches("user_id", "user_id")
OWNER_PROJECT = matches("project_id", "project_id")
PROJECT_READER = role("reader") & OWNER_PROJECT
PROJECT_MEMBER = role("member") & OWNER_PROJECT

#: The services whose rules :func:`declared` loads: ``overcast.core.<service>.policies.RULES``.
SERVICES = ("identity", "compute", "image", "volume", "network", "placement", "cdn")


class Policy:
    """A loaded rule table (what oslo.policy calls an enforcer): action name -> :class:`Rule`."""

    def __init__(self, rules: Mapping[str, Rule]):
        self.rules: dict[str, Rule] = dict(rules)

    def allowed(self, action: str, ctx: AuthContext | None, target: Target | None = None) -> bool:
        """:raises KeyError: for an action no rule names (a programming error, never a silent allow)."""
        rule = self.rules[action]
        return ctx is not None and rule(ctx, target or {})

    def enforce(self, action: str, ctx: AuthContext | None, target: Target | None = None) -> None:
        """:raises Forbidden: when the caller may not perform ``action`` on ``target``."""
        if not self.allowed(action, ctx, target):
            raise Forbidden(f"You are not authorized to perform the requested action: {action}.")


def load(services: tuple[str, ...] = SERVICES, overrides: Mapping[str, Rule] | None = None) -> Policy:
    """The rules each service declares in ``overcast.core.<service>.policies`` (a ``RULES``
    mapping), merged, then ``overrides``. Called by the app factory; nothing registers rules on
    import. :raises ValueError: two services declare the same action.
    """
    merged: dict[str, Rule] = {}
    for service in services:
        module = importlib.import_module(f"overcast.core.{service}.policies")
        clash = merged.keys() & module.RULES.keys()
        if clash:
            raise ValueError(f"policy actions declared twice: {', '.join(sorted(clash))}")
        merged.update(module.RULES)
    merged.update(overrides or {})
    return Policy(merged)


_ACTIVE: contextvars.ContextVar[Policy | None] = contextvars.ContextVar("overcast_policy", default=None)


@functools.lru_cache(maxsize=1)
def _declared() -> Policy:
    return load()


def current() -> Policy:
    """The policy of the app serving this request (set by :func:`use`); outside a request (workers,
    tools), the declared defaults."""
    return _ACTIVE.get() or _declared()


def use(policy: Policy) -> contextvars.Token:
    """Make ``policy`` the current one for this context (the app does it for each request)."""
    return _ACTIVE.set(policy)


def done(token: contextvars.Token) -> None:
    _ACTIVE.reset(token)


def allowed(action: str, ctx: AuthContext | None, target: Target | None = None) -> bool:
    """:raises KeyError: for an action no rule names (a programming error, never a silent allow)."""
    return current().allowed(action, ctx, target)


def enforce(action: str, ctx: AuthContext | None, target: Target | None = None) -> None:
    """:raises Forbidden: when the caller may not perform ``action`` on ``target``."""
    current().enforce(action, ctx, target)
