"""What every CDN resource shares: the base URL, the caller and policy, query arguments, 202s."""

from __future__ import annotations


import falcon

from overcast.api import faults
from overcast.core import policy
from overcast.core.cdn.services import Caller
from overcast.core.context import AuthContext


class Links:
    """Absolute CDN URLs (the CDN is one service for every region, served at the root)."""

    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/") + "/cdn/v1.0"

    def service(self, service_id: str) -> str:
        return f"{self.base}/services/{service_id}"

    def flavor(self, flavor_id: str) -> str:
        return f"{self.base}/flavors/{flavor_id}"


def project_caller(req: falcon.Request, action: str) -> Caller:
    """The caller as a project member or reader acting on its own project.

    :raises overcast.core.errors.Forbidden: no project scope, or the role is missing.
    """
    ctx: AuthContext = req.context.auth
    caller = Caller.of(ctx, req.context.request_id)
    policy.enforce(action, ctx, {"project_id": caller.project_id})
    return caller


def admin_caller(req: falcon.Request, action: str) -> Caller:
    """The caller of an operator route (any scope). :raises overcast.core.errors.Forbidden:"""
    ctx: AuthContext = req.context.auth
    policy.enforce(action, ctx, {})
    return Caller(ctx.project_id or "", ctx.user_id, req.context.request_id)


def one(req: falcon.Request, name: str) -> str | None:
    """A query argument given once (a repeated one is a 400 naming it)."""
    value = req.params.get(name)
    if isinstance(value, list):
        raise faults.BadRequest(f"{name}: give it once")
    return value


def accepted(resp: falcon.Response, location: str | None = None) -> None:
    resp.status = falcon.HTTP_202
    if location:
        resp.set_header("Location", location)

