"""CDN flavors: which providers a service is deployed to. Admins create and delete them; a
flavor naming a provider that is not configured is refused, and so is deleting a flavor a service
or a certificate still uses (Poppy had no such check). Flavors named in the configuration are
made (and kept in step) at every start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.core.cdn import CdnCore, flavor_settings
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.store.cdn import CdnCertificate, CdnFlavor, CdnService

CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 3, "maxLength": 64, "pattern": "^[A-Za-z0-9_.-]+$"},
        "providers": {
            "type": "array", "minItems": 1, "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "provider": {"type": "string", "minLength": 1, "maxLength": 64},
                    "links": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"href": {"type": "string", "minLength": 2, "maxLength": 1024},
                                           "rel": {"type": "string", "enum": ["provider_url"]}},
                            "required": ["href", "rel"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["provider"],
                "additionalProperties": False,
            },
        },
        "limits": {"type": "array"},
    },
    "required": ["id", "providers"],
    "additionalProperties": False,
}


def get(session: Session, flavor_id: str) -> CdnFlavor:
    """:raises NotFound:"""
    flavor = session.get(CdnFlavor, flavor_id)
    if flavor is None:
        raise NotFound(f"Flavor {flavor_id} could not be found")
    return flavor


def list_flavors(session: Session) -> list[CdnFlavor]:
    return list(session.scalars(select(CdnFlavor).order_by(CdnFlavor.id)))


def _providers(core: CdnCore, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for i, item in enumerate(items):
        name = item["provider"]
        core.require_provider(name, f"providers[{i}].provider")
        if name in seen:
            raise Invalid(f"providers[{i}].provider: provider {name} is listed twice")
        seen.add(name)
        links = item.get("links") or [{"href": core.driver(name).provider_url or name, "rel": "provider_url"}]
        out.append({"provider": name, "links": links})
    return out


def create(core: CdnCore, session: Session, body: dict[str, Any]) -> CdnFlavor:
    """:raises Invalid: a provider that is not configured. :raises Conflict: the id exists."""
    if session.get(CdnFlavor, body["id"]) is not None:
        raise Conflict(f"Flavor {body['id']} already exists")
    flavor = CdnFlavor(id=body["id"], providers=_providers(core, body["providers"]), managed=False)
    session.add(flavor)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"Flavor {body['id']} already exists") from None
    return flavor


def delete(session: Session, flavor_id: str) -> None:
    """:raises NotFound: :raises Conflict: a service or certificate uses it."""
    flavor = get(session, flavor_id)
    used = session.scalar(select(CdnService.id).where(CdnService.flavor_id == flavor.id).limit(1))
    if used is None:
        used = session.scalar(select(CdnCertificate.domain_name).where(CdnCertificate.flavor_id == flavor.id)
                              .limit(1))
    if used is not None:
        raise Conflict(f"Flavor {flavor_id} is in use by service or certificate {used}; delete those first")
    session.delete(flavor)


def seed(core: CdnCore, session: Session) -> None:
    """Make the configured flavors (or ``default``); refresh the providers of those the
    configuration made before; leave the ones an admin made alone."""
    for config in flavor_settings(core.settings):
        providers = _providers(core, [{"provider": p} for p in config.providers])
        flavor = session.get(CdnFlavor, config.id)
        if flavor is None:
            session.add(CdnFlavor(id=config.id, providers=providers, managed=True))
        elif flavor.managed and flavor.provider_names != list(config.providers):
            flavor.providers = providers
