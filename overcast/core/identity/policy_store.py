"""The deprecated v3 policy store: opaque blobs with a type, kept for clients that still call it."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.identity import fetch
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.errors import Invalid
from overcast.store.models import Policy


def get(session: Session, policy_id: str) -> Policy:
    """:raises NotFound:"""
    return fetch(session, Policy, policy_id, "policy")


def list_policies(session: Session, type_: str | None = None, matching: Sequence[TextFilter] = ()) -> list[Policy]:
    query = select(Policy)
    if type_ is not None:
        query = query.where(Policy.type == type_)
    return select_matching(session, query.order_by(Policy.id), Policy, matching)


def create(session: Session, body: dict[str, Any]) -> Policy:
    extra = {k: v for k, v in body.items() if k not in ("id", "links", "type", "blob")}
    policy = Policy(type=body["type"], blob=body["blob"], extra=extra)
    session.add(policy)
    session.flush()
    return policy


def update(session: Session, policy_id: str, body: dict[str, Any]) -> Policy:
    """:raises NotFound: :raises Invalid: an id change."""
    policy = get(session, policy_id)
    if body.get("id") not in (None, policy_id):
        raise Invalid("Update of `id` is not allowed.")
    for column in ("type", "blob"):
        if column in body:
            setattr(policy, column, body[column])
    extra = {k: v for k, v in body.items() if k not in ("id", "links", "type", "blob")}
    if extra:
        policy.extra = {**policy.extra, **extra}
    session.flush()
    return policy


def delete(session: Session, policy_id: str) -> None:
    """:raises NotFound:"""
    session.delete(get(session, policy_id))
