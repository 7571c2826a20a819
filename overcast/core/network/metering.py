"""Metering labels (Neutron's ``metering`` extension, ``/v2.0/metering/metering-labels``): a
named set of rules (:mod:`overcast.core.network.metering_rules`) saying which of a router's
traffic to count; a ``shared`` label applies to every project's routers.

Neutron's policy (neutron/conf/policies/metering.py) makes labels and rules the admin's alone:
only the admin role creates, reads and deletes them; anyone else lists none and finds none (404).
Labels are recorded, not applied: no driver receives them and no traffic is counted
(docs/decisions/0057-service-providers-and-metering.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import false
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core import policy as rules
from overcast.core.context import AuthContext
from overcast.core.errors import NotFound
from overcast.core.network.common import authorize, in_region, lookup, owner
from overcast.store.network import MeteringLabel

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore


def not_found(label_id: str) -> NotFound:
    return NotFound(f"Metering label {label_id} does not exist", kind="MeteringLabelNotFound")


def readable(ctx: AuthContext) -> bool:
    """Whether ``ctx`` may read metering labels and rules at all (``get_metering_label``)."""
    return rules.allowed("get_metering_label", ctx, {"project_id": ctx.project_id})


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[MeteringLabel]]:
    """The labels of the region ``ctx`` may list: every one for the admin, none for anyone else."""
    found = in_region(MeteringLabel, core.region)
    return found if readable(ctx) else found.where(false())


def get(core: NetworkCore, session: Session, ctx: AuthContext, label_id: str) -> MeteringLabel:
    """:raises NotFound: MeteringLabelNotFound (also for a caller who may not read labels)."""
    label = lookup(session, MeteringLabel, label_id, core.region)
    if label is None or not readable(ctx):
        raise not_found(label_id)
    return label


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> MeteringLabel:
    """:raises Forbidden: anyone but the admin."""
    project_id = owner(ctx, body, "create_metering_label")
    label = MeteringLabel(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                          description=body.get("description", ""), shared=bool(body.get("shared")))
    session.add(label)
    session.flush()
    return label


def delete(core: NetworkCore, session: Session, ctx: AuthContext, label_id: str) -> None:
    """The label and its rules. :raises NotFound: :raises Forbidden:"""
    label = get(core, session, ctx, label_id)
    authorize(ctx, "delete_metering_label", label.project_id)
    session.delete(label)
    session.flush()
