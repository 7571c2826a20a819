"""``/flavors``: list, detail, show, admin create/update/delete, access lists and extra specs."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api import faults
from overcast.api.compute.common import MAX_LIMIT, Links, at_least, caller, enforce
from overcast.api.fragments import Fragments, json_list
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.compute import ComputeCore
from overcast.core.compute import flavors as rules
from overcast.store.compute import Flavor
from overcast.store.models import Project


_POSITIVE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647}
_NON_NEGATIVE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": 2147483647}
_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[^\x00-\x1f\x7f]+(?<! )$"}
_ID = {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}
_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
                "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"}
_BOOLEAN = {"type": ["boolean", "string"], "enum": [True, False, "True", "False", "true", "false", "1", "0",
                                                    "yes", "no", "on", "off", "y", "n", "t", "f"]}


def create_schema(with_description: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": _NAME, "id": _ID, "ram": _POSITIVE, "vcpus": _POSITIVE, "disk": _NON_NEGATIVE,
        "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE, "swap": _NON_NEGATIVE,
        "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "maximum": 3.40282e38},
        "os-flavor-access:is_public": _BOOLEAN,
    }
    if with_description:
        props["description"] = _DESCRIPTION
    return {"type": "object", "required": ["flavor"], "additionalProperties": False,
            "properties": {"flavor": {"type": "object", "properties": props, "additionalProperties": False,
                                      "required": ["name", "ram", "vcpus", "disk"]}}}


UPDATE_SCHEMA = {"type": "object", "required": ["flavor"], "additionalProperties": False,
                 "properties": {"flavor": {"type": "object", "required": ["description"],
                                           "additionalProperties": False,
                                           "properties": {"description": _DESCRIPTION}}}}
_SPEC_KEY = r"^[a-zA-Z0-9-_:. ]{1,255}$"
_SPEC_VALUE = {"type": ["string", "number", "boolean"], "maxLength": 255}
EXTRA_SPECS_SCHEMA = {"type": "object", "required": ["extra_specs"], "additionalProperties": False,
                      "properties": {"extra_specs": {"type": "object", "patternProperties": {_SPEC_KEY: _SPEC_VALUE},
                                                     "additionalProperties": False}}}
EXTRA_SPEC_KEY_SCHEMA = {"type": "object", "patternProperties": {_SPEC_KEY: _SPEC_VALUE},
                         "additionalProperties": False, "minProperties": 1, "maxProperties": 1}
ACTION_SCHEMA = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                 "properties": {
                     "addTenantAccess": {"type": "object", "required": ["tenant"], "additionalProperties": False,
                                         "properties": {"tenant": {"type": "string", "minLength": 1,
                                                                   "maxLength": 255}}},
                     "removeTenantAccess": {"type": "object", "required": ["tenant"],
                                            "additionalProperties": False,
                                            "properties": {"tenant": {"type": "string", "minLength": 1,
                                                                      "maxLength": 255}}}}}


# -- shared helpers (other compute modules use them too) ------------------------------------------

def limit_marker(req: falcon.Request, max_limit: int = MAX_LIMIT) -> tuple[int, str | None]:
    """Nova's ``limit``/``marker`` parsing. :raises faults.BadRequest:"""
    raw = req.get_param("limit")
    limit = max_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise faults.BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise faults.BadRequest("limit param must be positive")
        limit = min(limit, max_limit)
    return limit, req.get_param("marker")


def next_links(req: falcon.Request, links: Links, collection: str, items: list[Any], limit: int,
               marker_of: Any) -> list[dict[str, str]]:
    if items and limit and len(items) == limit:
        return links.next_page(req, collection, marker_of(items[-1]))
    return []


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise faults.BadRequest(f"Invalid input for field '{field}': {value!r} is not a boolean.")


# -- views ------------------------------------------------------------------------------------------

def flavor_summary(req: falcon.Request, links: Links, flavor: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavor.id, "name": flavor.name, "links": links.pair("flavors", flavor.id)}
    if at_least(req, "2.55"):
        view["description"] = flavor.description
    return view


def flavor_view(req: falcon.Request, links: Links, flavor: Any,
                specs: tuple[tuple[str, str], ...] | None = None) -> dict[str, Any]:
    """A flavor's view: a record (a show) or a list row with its extra specs ``specs``."""
    swap: Any = flavor.swap
    if not flavor.swap and not at_least(req, "2.75"):
        swap = ""
    view: dict[str, Any] = {
        "id": flavor.id, "name": flavor.name, "ram": flavor.ram, "disk": flavor.disk, "vcpus": flavor.vcpus,
        "links": links.pair("flavors", flavor.id), "swap": swap,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral, "OS-FLV-DISABLED:disabled": flavor.disabled,
        "os-flavor-access:is_public": flavor.is_public, "rxtx_factor": flavor.rxtx_factor,
    }
    if at_least(req, "2.55"):
        view["description"] = flavor.description
    if at_least(req, "2.61"):
        view["extra_specs"] = dict(specs) if specs is not None else rules.extra_specs(flavor)
    return view


def flavor_list_views(req: falcon.Request, links: Links, session: Session, rows: list[Any],
                      fragments: Fragments) -> list[bytes]:
    """``flavors/detail``'s kept views (docs/decisions/0067-kept-neutron-and-flavor-views.md): each
    flavor's JSON kept under (the microversion thresholds its view depends on, the region's compute
    URL, its row, its extra specs when shown); only a flavor whose key is new is rendered."""
    shown = at_least(req, "2.61")
    specs = rules.extra_specs_of(session, [row.id for row in rows]) if shown else {}
    shape = (at_least(req, "2.55"), shown, at_least(req, "2.75"), links.base)
    return [fragments.render((shape, tuple(row), specs.get(row.id, ())),
                             lambda row=row: flavor_view(req, links, row, specs.get(row.id, ()) if shown else None))
            for row in rows]


def _access_view(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


def _is_public_filter(value: str | None) -> bool | None:
    """Nova's _parse_is_public: absent -> public only; 'none' -> both; else a strict boolean."""
    if value is None:
        return True
    if value.strip().lower() == "none":
        return None
    try:
        return parse_bool(value, "is_public")
    except faults.Fault:
        raise faults.BadRequest(f"Invalid is_public filter [{value}]") from None


def _int_filter(req: falcon.Request, name: str) -> int | None:
    value = req.get_param(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise faults.BadRequest(f"Invalid {name} filter [{value}]") from None


# -- resources --------------------------------------------------------------------------------------

class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class _FlavorList(_Base):
    detailed = False

    def __init__(self, core: ComputeCore, links: Links):
        super().__init__(core, links)
        #: rendered detail views, one per process (docs/decisions/0067-kept-neutron-and-flavor-views.md)
        self.fragments = Fragments()

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "compute:flavors:list")
        limit, marker = limit_marker(req)
        is_public = _is_public_filter(req.get_param("is_public")) if ctx.is_admin else True
        with self.core.store.session() as session:
            found = rules.list_flavors(
                session, is_admin=ctx.is_admin, project_id=ctx.project_id, is_public=is_public,
                min_ram=_int_filter(req, "minRam"), min_disk=_int_filter(req, "minDisk"),
                sort_key=req.get_param("sort_key") or "flavorid", sort_dir=req.get_param("sort_dir") or "asc",
                limit=limit, marker=marker)
            if self.detailed:
                rendered = flavor_list_views(req, self.links, session, found, self.fragments)
            else:
                items = [flavor_summary(req, self.links, f) for f in found]
        links = next_links(req, self.links, "flavors/detail" if self.detailed else "flavors", found, limit,
                           lambda f: f.id)
        extra = {"flavors_links": links} if links else {}
        if self.detailed:  # the kept views joined as they are
            resp.data = json_list("flavors", rendered, extra)
            resp.content_type = falcon.MEDIA_JSON
        else:
            resp.media = {"flavors": items, **extra}

    on_head = on_get


class Flavors(_FlavorList):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:flavors:create")
        ref = read_json(req, create_schema(at_least(req, "2.55")))["flavor"]
        flavor_id = ref.get("id")  # Nova takes a number too, as its string
        values: dict[str, Any] = {"name": ref["name"], "id": None if flavor_id is None else str(flavor_id)}
        for key, field, minimum in (("ram", "ram", 1), ("vcpus", "vcpus", 1), ("disk", "disk", 0),
                                    ("ephemeral", "OS-FLV-EXT-DATA:ephemeral", 0), ("swap", "swap", 0)):
            if field in ref:
                number = int(ref[field])
                if number < minimum or number > 2147483647:
                    raise faults.BadRequest(f"Invalid input for field/attribute {field}. Value: {ref[field]}. "
                                            f"{ref[field]} is less than the minimum of {minimum}")
                values[key] = number
        if "rxtx_factor" in ref:
            values["rxtx_factor"] = float(ref["rxtx_factor"])
            if values["rxtx_factor"] <= 0:
                raise faults.BadRequest("Invalid input for field/attribute rxtx_factor. It must be greater "
                                        "than 0.")
        if "os-flavor-access:is_public" in ref:
            values["is_public"] = parse_bool(ref["os-flavor-access:is_public"], "os-flavor-access:is_public")
        if "description" in ref:
            values["description"] = ref["description"]
        with self.core.store.session() as session:
            flavor = rules.create(session, values)
            resp.media = {"flavor": flavor_view(req, self.links, flavor)}


class FlavorsDetail(_FlavorList):
    detailed = True


class FlavorItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        ctx = enforce(req, "compute:flavors:show")
        with self.core.store.session() as session:
            flavor = rules.get(session, flavor_id, is_admin=ctx.is_admin, project_id=ctx.project_id)
            resp.media = {"flavor": flavor_view(req, self.links, flavor)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        if not at_least(req, "2.55"):
            raise faults.NotFound("The resource could not be found.")
        enforce(req, "compute:flavors:update")
        ref = read_json(req, UPDATE_SCHEMA)["flavor"]
        with self.core.store.session() as session:
            flavor = rules.update_description(session, flavor_id, ref["description"])
            resp.media = {"flavor": flavor_view(req, self.links, flavor)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        enforce(req, "compute:flavors:delete")
        with self.core.store.session() as session:
            rules.delete(session, flavor_id)
        resp.status = falcon.HTTP_202


class FlavorAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or not ({"addTenantAccess", "removeTenantAccess"} & set(body)):
            raise faults.BadRequest("There is no such action: " + ", ".join(body if isinstance(body, dict) else []))
        body = validate(body, ACTION_SCHEMA)
        if "addTenantAccess" in body:
            enforce(req, "compute:flavor_access:add")
            project_id = body["addTenantAccess"]["tenant"]
            with self.core.store.session() as session:
                rules.get(session, flavor_id)
                if session.get(Project, project_id) is None:
                    raise faults.BadRequest(f"Project ID {project_id} is not a valid project.")
                projects = rules.add_access(session, flavor_id, project_id)
        else:
            enforce(req, "compute:flavor_access:remove")
            project_id = body["removeTenantAccess"]["tenant"]
            with self.core.store.session() as session:
                projects = rules.remove_access(session, flavor_id, project_id)
        resp.media = _access_view(flavor_id, projects)


class FlavorAccess(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        enforce(req, "compute:flavor_access:list")
        with self.core.store.session() as session:
            resp.media = _access_view(flavor_id, rules.access_list(session, flavor_id))

    on_head = on_get


class ExtraSpecs(_Base):
    def _visible(self, req: falcon.Request, session: Any, flavor_id: str) -> Flavor:
        ctx = caller(req)
        return rules.get(session, flavor_id, is_admin=ctx.is_admin, project_id=ctx.project_id)

    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        enforce(req, "compute:flavor_extra_specs:index")
        with self.core.store.session() as session:
            resp.media = {"extra_specs": rules.extra_specs(self._visible(req, session, flavor_id))}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, **_: str) -> None:
        enforce(req, "compute:flavor_extra_specs:create")
        specs = read_json(req, EXTRA_SPECS_SCHEMA)["extra_specs"]
        with self.core.store.session() as session:
            resp.media = {"extra_specs": rules.set_extra_specs(session, flavor_id, specs)}


class ExtraSpec(_Base):
    _visible = ExtraSpecs._visible

    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, key: str, **_: str) -> None:
        enforce(req, "compute:flavor_extra_specs:show")
        with self.core.store.session() as session:
            self._visible(req, session, flavor_id)
            resp.media = {key: rules.get_extra_spec(session, flavor_id, key)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, key: str, **_: str) -> None:
        enforce(req, "compute:flavor_extra_specs:update")
        body = read_json(req, EXTRA_SPEC_KEY_SCHEMA)
        if key not in body:
            raise faults.BadRequest("Request body and URI mismatch")
        with self.core.store.session() as session:
            resp.media = rules.set_extra_specs(session, flavor_id, {key: body[key]})

    def on_delete(self, req: falcon.Request, resp: falcon.Response, flavor_id: str, key: str, **_: str) -> None:
        enforce(req, "compute:flavor_extra_specs:delete")
        with self.core.store.session() as session:
            rules.delete_extra_spec(session, flavor_id, key)
        resp.status = falcon.HTTP_200


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_flavors", Flavors(core, links))
    registry.bind("compute", "v2_flavors_detail", FlavorsDetail(core, links))
    registry.bind("compute", "v2_flavor", FlavorItem(core, links))
    registry.bind("compute", "v2_flavor_action", FlavorAction(core, links))
    registry.bind("compute", "v2_flavor_access", FlavorAccess(core, links))
    registry.bind("compute", "v2_os_extra_specs_flavor", ExtraSpecs(core, links))
    registry.bind("compute", "v2_os_extra_specs_flavor_key", ExtraSpec(core, links))

