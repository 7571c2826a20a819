"""Nova's volume proxies over Cinder's records (``os-volumes`` and ``os-snapshots`` below 2.36).

A volume or snapshot made through Nova is Cinder's, made by Cinder's own rules
(:mod:`overcast.core.volume.volumes`, :mod:`overcast.core.volume.snapshots`) with Cinder's
quotas and policy, as a real Nova's call to Cinder with the user's token would be. Only the
answers are Nova's (``nova.volume.cinder.API`` and ``nova.api.openstack.compute.volumes``):
Cinder's 400 becomes Nova's "Invalid input received: <Cinder's message>", its quota 413 a 403,
and its 404 stays a 404 with Cinder's "Volume <id> could not be found." / "Snapshot <id> could
not be found.", which are Nova's ``VolumeNotFound``/``SnapshotNotFound`` texts too.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, Invalid
from overcast.core.volume import VolumeCore
from overcast.core.volume import snapshots as snapshot_rules
from overcast.core.volume import volumes as volume_rules
from overcast.core.volume.quotas import OverLimit
from overcast.store.volume import Snapshot, Volume


@contextlib.contextmanager
def _as_nova(quota_prefix: str) -> Iterator[None]:
    """Cinder's refusals as Nova answers them.

    :raises Invalid: "Invalid input received: <Cinder's message>" for Cinder's 400.
    :raises Forbidden: ``quota_prefix`` + Cinder's message for its quota 413.
    """
    try:
        yield
    except Invalid as exc:
        raise Invalid(f"Invalid input received: {exc.message}") from None
    except OverLimit as exc:
        raise Forbidden(f"{quota_prefix}{exc.message}") from None


def _target(project_id: str | None) -> dict[str, str | None]:
    """The target of a Cinder rule: the record's project, or the caller's for lists and creates."""
    return {"project_id": project_id}


# -- volumes -----------------------------------------------------------------------------------------


def list_volumes(session: Session, ctx: AuthContext, *, region: str) -> list[Volume]:
    """The caller's project's volumes, newest first (Nova lists without ``all_tenants``, for an
    admin too). :raises Forbidden: Cinder's policy refuses."""
    policy.enforce("volume:get_all", ctx, _target(ctx.project_id))
    return volume_rules.list_volumes(session, ctx, volume_rules.ListQuery(), region=region)[0]


def get_volume(session: Session, ctx: AuthContext, volume_id: str, *, region: str) -> Volume:
    """:raises NotFound: "Volume <id> could not be found." :raises Forbidden: Cinder's policy refuses."""
    volume = volume_rules.get_volume(session, ctx, volume_id, region=region)
    policy.enforce("volume:get", ctx, _target(volume.project_id))
    return volume


def create_volume(volume: VolumeCore, session: Session, ctx: AuthContext, spec: volume_rules.VolumeSpec, *,
                  region: str, request_id: str | None) -> Volume:
    """Record a volume in ``region``'s Cinder and enqueue its creation, by Cinder's rules.

    :raises NotFound: unknown snapshot, volume type or image.
    :raises Invalid: what Cinder refuses as bad input (zone, snapshot state, size below the
        snapshot's or the image's), as "Invalid input received: ...".
    :raises Forbidden: Cinder's policy refuses; over quota ("Quota exceeded for resources: ...").
    :raises NotImplementedYet: the region offers no block storage.
    """
    policy.enforce("volume:create", ctx, _target(ctx.project_id))
    volume.volume_driver(region)  # 501 for a region without block storage
    with _as_nova("Quota exceeded for resources: "):
        return volume_rules.create(session, ctx, spec, region=region, request_id=request_id)


def delete_volume(session: Session, ctx: AuthContext, volume_id: str, *, region: str, request_id: str | None) -> None:
    """Mark the volume deleting and enqueue its deletion (no force, no cascade: Nova asks neither).

    :raises NotFound: "Volume <id> could not be found."
    :raises Invalid: Cinder refuses (attached, has snapshots, busy), as "Invalid input received: ...".
    :raises Forbidden: Cinder's policy refuses.
    """
    found = volume_rules.get_volume(session, ctx, volume_id, region=region)
    policy.enforce("volume:delete", ctx, _target(found.project_id))
    with _as_nova(""):
        volume_rules.delete(session, ctx, found, request_id=request_id)


# -- snapshots ---------------------------------------------------------------------------------------


def list_snapshots(session: Session, ctx: AuthContext, *, region: str) -> list[Snapshot]:
    """The caller's project's snapshots, newest first. :raises Forbidden: Cinder's policy refuses."""
    policy.enforce("volume:get_all_snapshots", ctx, _target(ctx.project_id))
    return snapshot_rules.list_snapshots(session, ctx, snapshot_rules.ListQuery(), region=region)[0]


def get_snapshot(session: Session, ctx: AuthContext, snapshot_id: str, *, region: str) -> Snapshot:
    """:raises NotFound: "Snapshot <id> could not be found." :raises Forbidden: Cinder's policy refuses."""
    snapshot = snapshot_rules.get_snapshot(session, ctx, snapshot_id, region=region)
    policy.enforce("volume:get_snapshot", ctx, _target(snapshot.project_id))
    return snapshot


def create_snapshot(session: Session, ctx: AuthContext, volume_id: str, *, region: str, name: str | None,
                    description: str | None, force: bool, request_id: str | None) -> Snapshot:
    """Record a snapshot of the volume and enqueue it, by Cinder's rules.

    :raises NotFound: "Volume <id> could not be found." (a real Nova answers this one with a 500:
        its controller does not expect Cinder's 404 here).
    :raises Invalid: the volume is busy (in-use without ``force``), as "Invalid input received: ...".
    :raises Forbidden: Cinder's policy refuses; over quota (Cinder's message, as Nova passes it on).
    """
    found = volume_rules.get_volume(session, ctx, volume_id, region=region)
    policy.enforce("volume:create_snapshot", ctx, _target(found.project_id))
    with _as_nova(""):
        return snapshot_rules.create(session, ctx, found, name=name, description=description, metadata={},
                                     force=force, request_id=request_id)


def delete_snapshot(session: Session, ctx: AuthContext, snapshot_id: str, *, region: str,
                    request_id: str | None) -> None:
    """Mark the snapshot deleting and enqueue its deletion.

    :raises NotFound: "Snapshot <id> could not be found."
    :raises Invalid: Cinder refuses (not available or error), as "Invalid input received: ..."
        (a real Nova answers this one with a 500: its controller expects only 404).
    :raises Forbidden: Cinder's policy refuses.
    """
    found = snapshot_rules.get_snapshot(session, ctx, snapshot_id, region=region)
    policy.enforce("volume:delete_snapshot", ctx, _target(found.project_id))
    with _as_nova(""):
        snapshot_rules.delete(session, ctx, found, request_id=request_id)
