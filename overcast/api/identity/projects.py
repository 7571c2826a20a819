"""``/v3/projects`` and project tags: CRUD, hierarchy, tag filters and tag endpoints."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, caller, enforce, text_filters, truthy
from overcast.api.identity.views import domain_project_view, project_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.identity import IdentityCore
from overcast.core.identity import domains as domain_rules
from overcast.core.identity import projects as rules
from overcast.store.models import DEFAULT_DOMAIN_ID, Domain, Project

NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"[\S]+"}
ID_STRING = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9-]+$"}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9-]+$"}
DESCRIPTION = {"type": ["string", "null"]}
BOOLEAN = {"type": "boolean"}
TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": rules.MAX_TAGS, "uniqueItems": True}
OPTIONS = {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}},
           "additionalProperties": False}
_PROPERTIES = {"name": NAME, "description": DESCRIPTION, "domain_id": NULLABLE_ID, "enabled": BOOLEAN,
               "is_domain": BOOLEAN, "parent_id": NULLABLE_ID, "tags": TAGS, "options": OPTIONS}
CREATE_SCHEMA = {
    "type": "object", "required": ["project"], "additionalProperties": False,
    "properties": {"project": {"type": "object", "properties": _PROPERTIES, "required": ["name"],
                               "additionalProperties": True}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["project"], "additionalProperties": False,
    "properties": {"project": {"type": "object", "properties": _PROPERTIES, "minProperties": 1,
                               "additionalProperties": True}},
}
TAGS_SCHEMA = {"type": "object", "required": ["tags"], "additionalProperties": False,
               "properties": {"tags": TAGS}}
TAG_SCHEMA = {"type": "object", "properties": {"tag": TAG}}
_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def owning_domain(ctx: AuthContext, requested: str | None) -> str:
    """Keystone's domain for a new project, user or group: the one asked for, else the token's
    domain, else the default domain."""
    return requested or ctx.domain_id or DEFAULT_DOMAIN_ID


def target_of(project: Project | None) -> dict[str, Any]:
    return {} if project is None else {"project_id": project.id, "domain_id": project.domain_id}


def _tag_filters(req: falcon.Request) -> dict[str, list[str]]:
    found = {}
    for key in _TAG_FILTERS:
        value = req.get_param(key)
        if value is not None:
            found[key] = [t for t in value.split(",") if t]
    return found


class Projects:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = caller(req)
        enforce(req, "identity:list_projects", {"domain_id": ctx.domain_id} if ctx.domain_id else {})
        domain_id = req.get_param("domain_id")
        if ctx.domain_id and domain_id not in (None, ctx.domain_id):
            # a domain-scoped token lists only its own domain's projects, as Keystone does
            resp.media = {"projects": [], "links": self.links.collection(req)}
            return
        domain_id = ctx.domain_id or domain_id
        name, enabled = req.get_param("name"), truthy(req.get_param("enabled"))
        with self.core.store.session() as session:
            if truthy(req.get_param("is_domain")):
                views = [domain_project_view(self.links, d) for d in domain_rules.list_domains(
                    session, name=name, enabled=enabled, matching=text_filters(req, ("name",)))]
            else:
                views = [project_view(self.links, p) for p in rules.list_projects(
                    session, name=name, domain_id=domain_id, enabled=enabled,
                    parent_id=req.get_param("parent_id"), tags=_tag_filters(req),
                    matching=text_filters(req, ("name", "domain_id")))]
        resp.media = {"projects": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ref = read_json(req, CREATE_SCHEMA)["project"]
        ctx = caller(req)
        if ref.get("is_domain"):
            enforce(req, "identity:create_domain")
            with self.core.store.session() as session:
                view = domain_project_view(self.links, domain_rules.create(session, ref))
        else:
            with self.core.store.session() as session:
                parent = rules.find(session, ref["parent_id"]) if ref.get("parent_id") else None
                # a child with no domain named belongs to its parent's domain
                ref["domain_id"] = ref.get("domain_id") or (parent.domain_id if parent else None) or \
                    owning_domain(ctx, None)
                enforce(req, "identity:create_project", {"domain_id": ref["domain_id"]})
                view = project_view(self.links, rules.create(session, ref, default_domain_id=DEFAULT_DOMAIN_ID))
        resp.status = falcon.HTTP_201
        resp.media = {"project": view}


class ProjectItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = rules.find(session, project_id)
            if project is None:
                domain = session.get(Domain, project_id)
                if domain is not None:
                    enforce(req, "identity:get_domain", {"domain_id": domain.id})
                    resp.media = {"project": domain_project_view(self.links, domain)}
                    return
            enforce(req, "identity:get_project", target_of(project))
            project = rules.get(session, project_id)
            view = project_view(self.links, project)
            self._expand(req, session, project, view)
        resp.media = {"project": view}

    on_head = on_get

    def _expand(self, req: falcon.Request, session: Any, project: Project, view: dict[str, Any]) -> None:
        """``parents_as_list`` / ``parents_as_ids`` / ``subtree_as_list`` / ``subtree_as_ids``."""
        flags = {k: bool(truthy(req.get_param(k))) for k in
                 ("parents_as_list", "parents_as_ids", "subtree_as_list", "subtree_as_ids")}
        if flags["parents_as_list"] and flags["parents_as_ids"]:
            raise Invalid("Cannot use parents_as_list and parents_as_ids query params at the same time.")
        if flags["subtree_as_list"] and flags["subtree_as_ids"]:
            raise Invalid("Cannot use subtree_as_list and subtree_as_ids query params at the same time.")
        if flags["parents_as_list"]:
            view["parents"] = [{"project": project_view(self.links, p)}
                               for p in rules.ancestors(session, project)]
        elif flags["parents_as_ids"]:
            ids: Any = None
            for parent in reversed(rules.ancestors(session, project)):
                ids = {parent.id: ids}
            view["parents"] = ids
        if flags["subtree_as_list"]:
            view["subtree"] = [{"project": project_view(self.links, p)}
                               for p in rules.subtree(session, project.id)]
        elif flags["subtree_as_ids"]:
            below = rules.subtree(session, project.id)

            def tree(pid: str) -> Any:
                children = [p.id for p in below if p.parent_id == pid]
                return {c: tree(c) for c in children} or None
            view["subtree"] = tree(project.id)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = rules.find(session, project_id)
            if project is None and session.get(Domain, project_id) is not None:
                enforce(req, "identity:update_domain")
                ref = read_json(req, UPDATE_SCHEMA)["project"]
                domain = domain_rules.get(session, project_id)
                revocations = domain_rules.update(session, domain, ref)
                view = domain_project_view(self.links, domain)
            else:
                enforce(req, "identity:update_project", target_of(project))
                ref = read_json(req, UPDATE_SCHEMA)["project"]
                project = rules.get(session, project_id)
                revocations = rules.update(session, project, ref)
                view = project_view(self.links, project)
        self.core.revocations.revoke_all(revocations)
        resp.media = {"project": view}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = rules.find(session, project_id)
            domain = session.get(Domain, project_id) if project is None else None
            if domain is not None:
                enforce(req, "identity:delete_domain")
                if domain.enabled:
                    raise Invalid("cannot delete an enabled project acting as a domain. Please disable the "
                                  f"project {domain.id} first.")
                revocations = domain_rules.delete_domain(session, domain)
            else:
                enforce(req, "identity:delete_project", target_of(project))
                project = rules.get(session, project_id)
                cascade = bool(truthy(req.get_param("cascade")))
                revocations = rules.delete_project(session, project, cascade=cascade)
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class _TagBase:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def _tags_body(self, req: falcon.Request, project: Project) -> dict[str, Any]:
        return {"tags": [t.name for t in project.tags], "links": {"self": self.links.collection(req)["self"]}}

    @staticmethod
    def _load(req: falcon.Request, session: Any, project_id: str, action: str) -> Project:
        enforce(req, action, target_of(rules.find(session, project_id)))
        return rules.get(session, project_id)


class ProjectTags(_TagBase):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:list_project_tags")
            resp.media = self._tags_body(req, project)

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:update_project_tags")
            tags = read_json(req, TAGS_SCHEMA)["tags"]
            rules.replace_tags(session, project, tags)
            resp.media = self._tags_body(req, project)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:delete_project_tags")
            rules.replace_tags(session, project, [])
        resp.status = falcon.HTTP_204


class ProjectTag(_TagBase):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, tag: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:get_project_tag")
            rules.check_tag(project, tag)
        resp.status = falcon.HTTP_204

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str, tag: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:create_project_tag")
            validate({"tag": tag}, TAG_SCHEMA)
            validate({"tags": [*{t.name for t in project.tags} | {tag}]}, TAGS_SCHEMA)
            rules.add_tag(session, project, tag)
        resp.status = falcon.HTTP_201
        resp.set_header("Location", self.links.v3(f"/projects/{project_id}/tags/{tag}"))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str, tag: str) -> None:
        with self.core.store.session() as session:
            project = self._load(req, session, project_id, "identity:delete_project_tag")
            rules.remove_tag(session, project, tag)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_projects", Projects(core, links))
    registry.bind("identity", "v3_projects_with_id", ProjectItem(core, links))
    registry.bind("identity", "v3_project_tags", ProjectTags(core, links))
    registry.bind("identity", "v3_project_tag", ProjectTag(core, links))

