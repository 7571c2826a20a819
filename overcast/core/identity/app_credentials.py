"""Application credentials: a user delegates some of their roles on one project to a secret.

The secret is shown once, at creation, and kept only as a bcrypt hash. Logging in with one is
:meth:`overcast.core.identity.auth.Authenticator.authenticate` (method ``application_credential``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.identity import IdentityCore, access_rules
from overcast.core.identity.assignments import effective_roles
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.store.models import ROOT_DOMAIN_ID, ApplicationCredential, Project, Role, User, utcnow


def generate_secret() -> str:
    """A URL-safe secret of 64 characters."""
    return secrets.token_urlsafe(48)


def parse_expiry(value: str | None) -> dt.datetime | None:
    """ISO 8601 to naive UTC. :raises Invalid: unparsable, or already past."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"Invalid input for field 'expires_at': {value!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if parsed <= utcnow():
        raise Invalid("The 'expires_at' must not be before now.")
    return parsed


def get(session: Session, user_id: str, cred_id: str) -> ApplicationCredential:
    """:raises NotFound: no such credential for this user."""
    cred = session.get(ApplicationCredential, cred_id)
    if cred is None or cred.user_id != user_id:
        raise NotFound(f"Could not find Application Credential: {cred_id}.")
    return cred


def list_for_user(session: Session, user_id: str, name: str | None = None,
                  matching: Sequence[TextFilter] = ()) -> list[ApplicationCredential]:
    """:raises NotFound: unknown user."""
    if session.get(User, user_id) is None:
        raise NotFound(f"Could not find user: {user_id}.")
    query = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    if name is not None:
        query = query.where(ApplicationCredential.name == name)
    return select_matching(session, query.order_by(ApplicationCredential.name), ApplicationCredential, matching)


def _resolve_role(session: Session, ref: dict[str, Any]) -> Role:
    if ref.get("id"):
        role = session.get(Role, ref["id"])
        if role is None:
            raise NotFound(f"Could not find role: {ref['id']}.")
        return role
    role = session.scalar(select(Role).where(Role.name == ref.get("name"), Role.domain_id == ROOT_DOMAIN_ID))
    if role is None:
        raise NotFound(f"Could not find role: {ref.get('name')}.")
    return role


def create(core: IdentityCore, ctx: AuthContext, user_id: str, body: dict[str, Any]) -> tuple[
        ApplicationCredential, str]:
    """Create a credential for the caller's project; returns it and its secret (shown once).

    :raises Forbidden: a restricted application credential's token, or another user's.
    :raises Invalid: no project scope, roles the user does not hold there, a bad expiry.
    :raises NotFound: an unknown role.
    :raises Conflict: the user already has a credential of that name.
    """
    with core.store.session() as session:
        if ctx.app_cred_id:
            used = session.get(ApplicationCredential, ctx.app_cred_id)
            if used is None or not used.unrestricted:
                raise Forbidden("Using method 'application_credential' is not allowed for managing "
                                "additional application credentials.")
        if ctx.user_id != user_id:
            raise Forbidden("Cannot create an application credential for another user.")
        if not ctx.project_id:
            raise Invalid("Invalid application credential: a project-scoped token is required.")
        project = session.get(Project, ctx.project_id)
        if project is None:
            raise NotFound(f"Could not find project: {ctx.project_id}.")
        held = {r.id: r for r in effective_roles(session, user_id, project=project)
                if r.domain_id == ROOT_DOMAIN_ID}
        if body.get("roles"):
            wanted = [_resolve_role(session, ref) for ref in body["roles"]]
        else:
            wanted = [r for r in held.values() if r.name in ctx.roles]
        for role in wanted:
            if role.id not in held:
                raise Invalid(f"Invalid application credential: Could not find role assignment with role: "
                              f"{role.id}, user or group: {user_id}, project, domain, or system: {project.id}.")
        name = body["name"]
        if session.scalar(select(ApplicationCredential.id).where(
                ApplicationCredential.user_id == user_id, ApplicationCredential.name == name)):
            raise Conflict("Conflict occurred attempting to store application_credential - "
                           "Duplicate application credential name exists.")
        secret = body.get("secret") or generate_secret()
        cred = ApplicationCredential(
            name=name, user_id=user_id, project_id=project.id, secret_hash=core.hasher.hash(secret),
            description=body.get("description") or "", expires_at=parse_expiry(body.get("expires_at")),
            unrestricted=bool(body.get("unrestricted")), role_ids=list(dict.fromkeys(r.id for r in wanted)),
            access_rules=access_rules.resolve(session, user_id, list(body.get("access_rules") or [])))
        session.add(cred)
        session.flush()
        return cred, secret


def delete(core: IdentityCore, user_id: str, cred_id: str) -> None:
    """Delete the credential and revoke the tokens it gave. :raises NotFound:"""
    with core.store.session() as session:
        session.delete(get(session, user_id, cred_id))
    core.revocations.revoke(app_cred_id=cred_id)


def roles_of(session: Session, cred: ApplicationCredential) -> list[Role]:
    if not cred.role_ids:
        return []
    return list(session.scalars(select(Role).where(Role.id.in_(cred.role_ids)).order_by(Role.name)))
