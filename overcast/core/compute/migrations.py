"""Nova's migration records: one for every resize of a server, listed by ``os-migrations``.

A resize makes its record when it is asked for (``pre-migrating``); the operation moves it to
``migrating`` when it calls the driver and to ``finished`` once the server waits in
VERIFY_RESIZE. Confirming makes it ``confirming`` then ``confirmed``, reverting ``reverting``
then ``reverted``; a failed step makes it ``error``. Overcast's drivers resize a server where it
is (Nova's ``allow_resize_to_same_host``), so the destination is the source host until the
driver reports where the server ended up. A cold migration (``migrate``, decision 0072, drivers
with ``Capability.MIGRATE``) makes a ``migration`` record that moves the same way; live migration
is not offered by any driver.

A deleted server's migrations are no longer listed (Nova soft-deletes them with the instance).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from overcast.core.compute.admin import HOST_IP
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.store.compute import Migration, Server
from overcast.store.models import utcnow

#: server action -> the status of the server's migration while the action runs and once it is done
PROGRESS: Mapping[str, tuple[str, str]] = {
    "resize": ("migrating", "finished"),
    "migrate": ("migrating", "finished"),
    "confirmResize": ("confirming", "confirmed"),
    "revertResize": ("reverting", "reverted"),
}


def _latest(session: Session, server_id: str) -> Migration | None:
    return session.scalars(select(Migration).where(Migration.server_id == server_id)
                           .order_by(Migration.id.desc()).limit(1)).first()


def _move(session: Session, server_id: str, status: str, *, only_from: str | None = None) -> Migration | None:
    migration = _latest(session, server_id)
    if migration is None or (only_from is not None and migration.status != only_from):
        return None
    migration.status = status
    migration.updated_at = utcnow()
    return migration


def requested(session: Session, ctx: AuthContext, server: Server, key: str, params: Mapping[str, Any]) -> None:
    """Action ``key`` was just accepted for ``server``: a resize (``params["flavor"]`` is the new
    flavor) gets its record, a confirm or revert moves the server's record on."""
    if key == "resize":
        session.add(Migration(server_id=server.id, user_id=ctx.user_id, project_id=ctx.project_id,
                              migration_type="resize", status="pre-migrating", source_compute=server.host,
                              source_node=server.host, dest_compute=server.host, dest_node=server.host,
                              dest_host=HOST_IP, old_flavor_id=server.flavor_id,
                              new_flavor_id=str(params["flavor"]["id"])))
    elif key == "migrate":      # cold migration (decision 0072): the destination is known once it is there
        session.add(Migration(server_id=server.id, user_id=ctx.user_id, project_id=ctx.project_id,
                              migration_type="migration", status="pre-migrating", source_compute=server.host,
                              source_node=server.host, dest_compute=params.get("host"),
                              dest_node=params.get("host"), dest_host=HOST_IP, old_flavor_id=server.flavor_id,
                              new_flavor_id=server.flavor_id))
    elif key in PROGRESS:
        _move(session, server.id, PROGRESS[key][0])


def running(session: Session, server_id: str, key: str) -> None:
    """The operation of action ``key`` is about to call the driver."""
    if key in ("resize", "migrate"):
        _move(session, server_id, PROGRESS[key][0], only_from="pre-migrating")


def finished(session: Session, server: Server, key: str) -> None:
    """Action ``key`` is done; for a resize the server's host is where it went."""
    if key in PROGRESS:
        migration = _move(session, server.id, PROGRESS[key][1])
        if migration is not None and key in ("resize", "migrate"):
            migration.dest_compute = migration.dest_node = server.host


def failed(session: Session, server_id: str, key: str) -> None:
    """Action ``key`` failed."""
    if key in PROGRESS:
        _move(session, server_id, "error")


@dataclass(frozen=True)
class Filters:
    """Nova's ``os-migrations`` filters; None is "any"."""

    status: str | None = None
    #: source or destination compute host
    host: str | None = None
    #: only used without ``host``
    source_compute: str | None = None
    migration_type: str | None = None
    instance_uuid: str | None = None
    #: Overcast hides no migration: True matches none
    hidden: bool | None = None
    user_id: str | None = None
    project_id: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None


def list_migrations(session: Session, filters: Filters, *, region: str, newest_first: bool = False,
                    limit: int | None = None, marker: str | None = None) -> list[Migration]:
    """The migrations of servers that are not deleted, oldest first (Nova's order before 2.59) or
    newest first (``created_at``, then ``id``); at most ``limit``, those after the ``marker``
    migration in the newest-first order.

    :raises Invalid: the changes-since/changes-before window is reversed, or an unknown marker.
    """
    f = filters
    if f.changes_since and f.changes_before and f.changes_before < f.changes_since:
        raise Invalid("The value of changes-since must be less than or equal to changes-before.")
    if limit == 0 or f.hidden:
        return []
    stmt = select(Migration).join(Server, Server.id == Migration.server_id).where(Server.cloud == region,
                                                                                 Server.deleted.is_(False))
    for value, column in ((f.status, Migration.status), (f.migration_type, Migration.migration_type),
                          (f.instance_uuid, Migration.server_id), (f.user_id, Migration.user_id),
                          (f.project_id, Migration.project_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.host is not None:
        stmt = stmt.where(or_(Migration.source_compute == f.host, Migration.dest_compute == f.host))
    elif f.source_compute is not None:
        stmt = stmt.where(Migration.source_compute == f.source_compute)
    if f.changes_since is not None:
        stmt = stmt.where(Migration.updated_at >= f.changes_since)
    if f.changes_before is not None:
        stmt = stmt.where(Migration.updated_at <= f.changes_before)
    if marker is not None:
        after = session.scalars(select(Migration).where(Migration.uuid == marker)).first()
        if after is None:
            raise Invalid(f"Marker {marker} could not be found.")
        stmt = stmt.where(or_(Migration.created_at < after.created_at,
                              and_(Migration.created_at == after.created_at, Migration.id < after.id)))
    if newest_first:
        stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
    else:
        stmt = stmt.order_by(Migration.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
