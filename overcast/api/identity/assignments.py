"""Grants (``/v3/{projects,domains}/{id}/{users,groups}/{id}/roles[/{role_id}]`` and the system's)
and ``GET /v3/role_assignments``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import falcon
from sqlalchemy import select

from overcast.api.identity.common import Links, caller, enforce, truthy
from overcast.api.identity.views import role_view
from overcast.api.routing import Registry
from overcast.core.errors import Invalid
from overcast.core.identity import IdentityCore
from overcast.core.identity import assignments as grants
from overcast.core.identity.assignments import AssignmentQuery, RoleAssignment
from overcast.store.models import ROOT_DOMAIN_ID, Domain, Group, Project, Role, User


def _policy(actor: str, target: str, verb: str) -> str:
    if target == "system":
        return {"list": f"identity:list_system_grants_for_{actor}",
                "check": f"identity:check_system_grant_for_{actor}",
                "create": f"identity:create_system_grant_for_{actor}",
                "revoke": f"identity:revoke_system_grant_for_{actor}"}[verb]
    return {"list": "identity:list_grants", "check": "identity:check_grant",
            "create": "identity:create_grant", "revoke": "identity:revoke_grant"}[verb]


class _Grants:
    """Shared by the collection and item resources of one (actor, target) pair; with ``inherited``
    they serve OS-INHERIT's ``.../inherited_to_projects`` grants (see inherit.py)."""

    def __init__(self, core: IdentityCore, links: Links, actor: str, target: str, *, inherited: bool = False):
        self.core, self.links, self.actor, self.target = core, links, actor, target
        self.inherited = inherited

    def _ids(self, params: dict[str, str]) -> tuple[str, str]:
        actor_id = params[f"{self.actor}_id"]
        target_id = "system" if self.target == "system" else params[f"{self.target}_id"]
        return actor_id, target_id

    def _enforce(self, req: falcon.Request, verb: str, target_id: str) -> None:
        domain_id = target_id if self.target == "domain" else None
        if self.target == "project":
            with self.core.store.session() as session:
                domain_id = session.scalar(select(Project.domain_id).where(Project.id == target_id))
        enforce(req, _policy(self.actor, self.target, verb), {"domain_id": domain_id, "project_id": target_id})


class GrantList(_Grants):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        actor_id, target_id = self._ids(params)
        self._enforce(req, "list", target_id)
        with self.core.store.session() as session:
            roles = grants.list_grants(session, self.actor, actor_id, self.target, target_id,
                                       inherited=self.inherited)
            views = [role_view(self.links, r) for r in roles]
        resp.media = {"roles": views, "links": self.links.collection(req)}

    on_head = on_get


class GrantItem(_Grants):
    def on_put(self, req: falcon.Request, resp: falcon.Response, role_id: str, **params: str) -> None:
        actor_id, target_id = self._ids(params)
        self._enforce(req, "create", target_id)
        with self.core.store.session() as session:
            grants.create_grant(session, self.actor, actor_id, self.target, target_id, role_id,
                                inherited=self.inherited)
        resp.status = falcon.HTTP_204

    def on_get(self, req: falcon.Request, resp: falcon.Response, role_id: str, **params: str) -> None:
        actor_id, target_id = self._ids(params)
        self._enforce(req, "check", target_id)
        with self.core.store.session() as session:
            grants.check_grant(session, self.actor, actor_id, self.target, target_id, role_id,
                               inherited=self.inherited)
        resp.status = falcon.HTTP_204

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, role_id: str, **params: str) -> None:
        actor_id, target_id = self._ids(params)
        self._enforce(req, "revoke", target_id)
        grants.delete_grant(self.core, self.actor, actor_id, self.target, target_id, role_id,
                            inherited=self.inherited)
        resp.status = falcon.HTTP_204


# -- /v3/role_assignments -----------------------------------------------------------------
def query_params(req: falcon.Request) -> dict[str, str]:
    """The query string with blank values kept: Keystone reads a bare ``?effective`` as true."""
    return {k: v[-1] for k, v in parse_qs(req.query_string, keep_blank_values=True).items()}


class _Names:
    """Looks names up once per listing, for ``include_names``."""

    def __init__(self, session: Any):
        self.session = session
        self.cache: dict[tuple[type, str], Any] = {}

    def get(self, model: type, key: str) -> Any:
        if (model, key) not in self.cache:
            self.cache[(model, key)] = self.session.get(model, key)
        return self.cache[(model, key)]

    def domain(self, domain_id: str) -> dict[str, str]:
        domain = self.get(Domain, domain_id)
        return {"id": domain_id, "name": domain.name if domain else None}

    def owned(self, model: type, key: str) -> dict[str, Any]:
        row = self.get(model, key)
        if row is None:
            return {"id": key}
        return {"id": key, "name": row.name, "domain": self.domain(row.domain_id)}

    def role(self, role_id: str) -> dict[str, Any]:
        role = self.get(Role, role_id)
        if role is None:
            return {"id": role_id}
        body: dict[str, Any] = {"id": role_id, "name": role.name}
        if role.domain_id != ROOT_DOMAIN_ID:
            body["domain"] = self.domain(role.domain_id)
        return body


def assignment_view(links: Links, a: RoleAssignment, names: _Names | None) -> dict[str, Any]:
    """Keystone's role assignment entity; ``links.assignment`` points at the grant behind it."""
    entity: dict[str, Any] = {"links": {}}
    if a.project_id:
        entity["scope"] = {"project": names.owned(Project, a.project_id) if names else {"id": a.project_id}}
        if a.via_domain_id:
            path = f"/domains/{a.via_domain_id}"
        elif a.via_project_id:
            path = f"/projects/{a.via_project_id}"
        else:
            path = f"/projects/{a.project_id}"
    elif a.domain_id:
        entity["scope"] = {"domain": names.domain(a.domain_id) if names else {"id": a.domain_id}}
        path = f"/domains/{a.domain_id}"
    else:
        entity["scope"] = {"system": {"all": True}}
        path = "/system"
    inherited = a.inherited or bool(a.via_domain_id or a.via_project_id)
    if a.user_id:
        entity["user"] = names.owned(User, a.user_id) if names else {"id": a.user_id}
        if a.via_group_id:
            entity["links"]["membership"] = links.v3(f"/groups/{a.via_group_id}/users/{a.user_id}")
            path += f"/groups/{a.via_group_id}"
        else:
            path += f"/users/{a.user_id}"
    else:
        entity["group"] = names.owned(Group, a.group_id) if names else {"id": a.group_id}
        path += f"/groups/{a.group_id}"
    entity["role"] = names.role(a.role_id) if names else {"id": a.role_id}
    path += f"/roles/{a.via_role_id or a.role_id}"
    if a.inherited:
        # Only the inherited grant itself says so; what it gives a project (effective) does not.
        entity["scope"]["OS-INHERIT:inherited_to"] = "projects"
    if inherited:
        path = f"/OS-INHERIT{path}/inherited_to_projects"
    entity["links"]["assignment"] = links.v3(path)
    if a.via_role_id:
        entity["links"]["prior_role"] = links.v3(f"/prior_role/{a.role_id}/implies/{a.via_role_id}")
    return entity


class RoleAssignments:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    @staticmethod
    def _query(req: falcon.Request) -> AssignmentQuery:
        params = query_params(req)
        p = params.get
        inherited_to = p("scope.OS-INHERIT:inherited_to")
        q = AssignmentQuery(
            user_id=p("user.id") or None, group_id=p("group.id") or None, role_id=p("role.id") or None,
            project_id=p("scope.project.id") or None, domain_id=p("scope.domain.id") or None,
            system=bool(p("scope.system")),
            inherited=None if inherited_to is None else inherited_to == "projects",
            effective=bool(truthy(p("effective"))), include_subtree=bool(truthy(p("include_subtree"))),
        )
        if q.domain_id and q.project_id:
            raise Invalid("Specify a domain or project, not both")
        if q.domain_id and q.system:
            raise Invalid("Specify system or domain, not both")
        if q.project_id and q.system:
            raise Invalid("Specify system or project, not both")
        if q.user_id and q.group_id:
            raise Invalid("Specify a user or group, not both")
        if q.effective and q.group_id:
            raise Invalid("Combining effective and group filter will always result in an empty list.")
        if q.effective and q.inherited and q.domain_id:
            raise Invalid("Combining effective, domain and inherited filters will always result in an empty list.")
        if q.include_subtree and not q.project_id:
            raise Invalid("scope.project.id must be specified if include_subtree is also specified")
        return q

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = self._query(req)
        ctx = caller(req)
        with self.core.store.session() as session:
            if q.include_subtree:
                project = session.get(Project, q.project_id)
                enforce(req, "identity:list_role_assignments_for_tree",
                        {"project_id": q.project_id, "domain_id": project.domain_id if project else None})
            else:
                enforce(req, "identity:list_role_assignments", {"domain_id": ctx.domain_id})
            found = grants.list_role_assignments(session, q)
            if ctx.domain_id and not ctx.is_admin and not ctx.system:
                found = [a for a in found if self._in_domain(session, a, ctx.domain_id)]
            names = _Names(session) if truthy(query_params(req).get("include_names")) else None
            views = [assignment_view(self.links, a, names) for a in found]
        resp.media = {"role_assignments": views, "links": self.links.collection(req)}

    on_head = on_get

    @staticmethod
    def _in_domain(session: Any, a: RoleAssignment, domain_id: str) -> bool:
        if a.domain_id:
            return a.domain_id == domain_id
        if a.project_id:
            return session.scalar(select(Project.domain_id).where(Project.id == a.project_id)) == domain_id
        return False


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    for target in ("project", "domain", "system"):
        for actor in ("user", "group"):
            collection = f"v3_{target}_{actor}_roles"
            item = f"v3_{target}_{actor}_role" if (target, actor) != ("project", "group") else "v3_project_role"
            registry.bind("identity", collection, GrantList(core, links, actor, target))
            registry.bind("identity", item, GrantItem(core, links, actor, target))
    registry.bind("identity", "v3_role_assignments", RoleAssignments(core, links))
