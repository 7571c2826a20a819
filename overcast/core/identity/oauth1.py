"""OAuth 1.0a consumers (OS-OAUTH1): the applications that may ask a user for delegated access.

A consumer's secret is made here, shown once (at creation) and kept only as a bcrypt hash, like
application credential secrets. Request and access tokens are not implemented yet.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid, NotFound
from overcast.core.identity import IdentityCore
from overcast.store.models import OAuth1Consumer


_KNOWN = ("id", "links", "description", "secret")


def get(session: Session, consumer_id: str) -> OAuth1Consumer:
    """:raises NotFound:"""
    consumer = session.get(OAuth1Consumer, consumer_id)
    if consumer is None:
        raise NotFound("Consumer not found")
    return consumer


def list_consumers(session: Session) -> list[OAuth1Consumer]:
    return list(session.scalars(select(OAuth1Consumer).order_by(OAuth1Consumer.id)))


def create(core: IdentityCore, body: dict[str, Any]) -> tuple[OAuth1Consumer, str]:
    """A new consumer and its secret (shown once)."""
    secret = secrets.token_hex(16)
    with core.store.session() as session:
        consumer = OAuth1Consumer(description=body.get("description"), secret_hash=core.hasher.hash(secret),
                                  extra={k: v for k, v in body.items() if k not in _KNOWN})
        session.add(consumer)
        session.flush()
        return consumer, secret


def update(session: Session, consumer_id: str, body: dict[str, Any]) -> OAuth1Consumer:
    """:raises NotFound: :raises Invalid: a change of secret or id."""
    consumer = get(session, consumer_id)
    if "secret" in body:
        raise Invalid("Cannot change consumer secret")
    if body.get("id") not in (None, consumer_id):
        raise Invalid("Cannot change consumer id")
    if "description" in body:
        consumer.description = body["description"]
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    if extra:
        consumer.extra = {**consumer.extra, **extra}
    session.flush()
    return consumer


def delete(session: Session, consumer_id: str) -> None:
    """:raises NotFound:"""
    session.delete(get(session, consumer_id))
