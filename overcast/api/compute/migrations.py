"""``GET /os-migrations`` (admin): the migration records of every server, with Nova's filters and
views per microversion (2.23 ``migration_type``; 2.59 ``uuid``, paging, newest first,
``changes-since`` and no unknown parameters; 2.66 ``changes-before``; 2.80 ``user_id`` and
``project_id``). Nova links only in-progress live migrations, which Overcast never makes."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, at_least, enforce, refuse_unknown
from overcast.api.compute.flavors import limit_marker, next_links
from overcast.api.compute.servers import parse_bool, parse_time
from overcast.api.compute.server_views import usg
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import migrations as rules
from overcast.store.compute import Migration

#: the query parameters of every microversion, then those added by (microversion, parameters)
_QUERY = ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")
_ADDED = (("2.59", ("limit", "marker", "changes-since")), ("2.66", ("changes-before",)),
          ("2.80", ("user_id", "project_id")))
#: the parameters that filter on the migration field of the same name
_EQUAL = ("host", "instance_uuid", "source_compute", "status", "migration_type", "user_id", "project_id")


def _instance_type_id(flavor_id: str) -> int | None:
    """Nova shows its flavors' internal integer ids; Overcast's flavors have only their API id,
    which is that integer for Nova's numbered flavors and null for any other."""
    return int(flavor_id) if flavor_id.isdigit() else None


def view(req: falcon.Request, migration: Migration) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": migration.id, "status": migration.status, "instance_uuid": migration.server_id,
        "source_node": migration.source_node, "source_compute": migration.source_compute,
        "dest_node": migration.dest_node, "dest_compute": migration.dest_compute, "dest_host": migration.dest_host,
        "old_instance_type_id": _instance_type_id(migration.old_flavor_id),
        "new_instance_type_id": _instance_type_id(migration.new_flavor_id),
        "created_at": usg(migration.created_at), "updated_at": usg(migration.updated_at),
    }
    if at_least(req, "2.23"):
        out["migration_type"] = migration.migration_type
    if at_least(req, "2.59"):
        out["uuid"] = migration.uuid
    if at_least(req, "2.80"):
        out.update(user_id=migration.user_id, project_id=migration.project_id)
    return out


def known_parameters(req: falcon.Request) -> list[str]:
    return [*_QUERY, *(name for first, names in _ADDED if at_least(req, first) for name in names)]


def filters(req: falcon.Request) -> rules.Filters:
    """The filters this microversion knows (Nova ignores the others before 2.59).

    :raises faults.BadRequest: a bad boolean or time, or (2.59+) an unknown parameter.
    """
    known = known_parameters(req)
    if at_least(req, "2.59"):
        refuse_unknown(req, known)
    given = {name: req.get_param(name) for name in known if req.get_param(name) is not None}
    times = {key.replace("-", "_"): parse_time(key, given[key]) for key in ("changes-since", "changes-before")
             if key in given}
    hidden = parse_bool("hidden", given["hidden"]) if "hidden" in given else None
    return rules.Filters(**{name: given[name] for name in _EQUAL if name in given}, hidden=hidden, **times)


class Migrations:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "os_compute_api:os-migrations:index")
        wanted = filters(req)
        paged = at_least(req, "2.59")
        limit, marker = limit_marker(req) if paged else (None, None)
        with self.core.store.session() as session:
            found = rules.list_migrations(session, wanted, region=req.context.region, newest_first=paged, limit=limit,
                                          marker=marker)
            body: dict[str, Any] = {"migrations": [view(req, m) for m in found]}
            links = next_links(req, self.links, "os-migrations", found, limit, lambda m: m.uuid) if paged else []
        if links:
            body["migrations_links"] = links
        resp.media = body

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_migrations", Migrations(core, links))
