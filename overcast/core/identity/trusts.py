"""Trusts (OS-TRUST): a trustor delegates some of their roles on a project to a trustee.

The trustee then asks for a trust-scoped token (``"scope": {"OS-TRUST:trust": {"id": ...}}``):
its scope is the trust's project, its roles the delegated ones (with the roles they imply, as far
as the trustor still holds them), and its user the trustor when the trust impersonates, else the
trustee. Each such token uses one of ``remaining_uses``. A trust that has expired or has no use
left is, as in Keystone, no longer found. Deleting a trust revokes the tokens issued with it.

A trust-scoped token may create a further trust (redelegation) when its trust allows it: the new
trust delegates no more roles, lasts no longer, and may be redelegated one time fewer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.core.identity import IdentityCore
from overcast.core.identity.assignments import effective_roles, expand_implied
from overcast.core.revocation import Revocations
from overcast.store.models import ROOT_DOMAIN_ID, Project, Role, Trust, User, utcnow

#: Keystone's ``[trust] max_redelegation_count`` default.
MAX_REDELEGATION_COUNT = 3




def target(trust: Trust) -> dict[str, Any]:
    """What policy checks a trust against."""
    return {"trustor_user_id": trust.trustor_user_id, "trustee_user_id": trust.trustee_user_id,
            "project_id": trust.project_id}


def parse_timestamp(value: str) -> dt.datetime:
    """ISO 8601 to naive UTC. :raises Invalid: Keystone's timestamp message."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("Timestamp not in expected format. The server could not comply with the request "
                      "since it is either malformed or otherwise incorrect. The client is assumed to be "
                      "in error.") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def usable(trust: Trust | None) -> bool:
    """Not expired and with uses left."""
    if trust is None:
        return False
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        return False
    return trust.remaining_uses is None or trust.remaining_uses > 0


def get(session: Session, trust_id: str) -> Trust:
    """:raises NotFound: no such trust, or it expired or has no use left."""
    trust = session.get(Trust, trust_id)
    if not usable(trust):
        raise NotFound(f"Could not find trust: {trust_id}.")
    assert trust is not None
    return trust


def list_trusts(session: Session, *, trustor_user_id: str | None = None,
                trustee_user_id: str | None = None) -> list[Trust]:
    query = select(Trust)
    if trustor_user_id is not None:
        query = query.where(Trust.trustor_user_id == trustor_user_id)
    if trustee_user_id is not None:
        query = query.where(Trust.trustee_user_id == trustee_user_id)
    return [t for t in session.scalars(query.order_by(Trust.created_at, Trust.id)) if usable(t)]


def roles_of(session: Session, trust: Trust) -> list[Role]:
    if not trust.role_ids:
        return []
    return list(session.scalars(select(Role).where(Role.id.in_(trust.role_ids)).order_by(Role.name)))


def role_of(session: Session, trust: Trust, role_id: str) -> Role:
    """:raises NotFound: the trust does not delegate that role."""
    role = session.get(Role, role_id) if role_id in trust.role_ids else None
    if role is None:
        raise NotFound(f"Could not find role: {role_id}.")
    return role


def _resolve_role(session: Session, ref: dict[str, Any]) -> Role:
    """A role by id or by global name. :raises NotFound:"""
    if ref.get("id"):
        role = session.get(Role, ref["id"])
        if role is None:
            raise NotFound(f"Could not find role: {ref['id']}.")
        return role
    role = session.scalar(select(Role).where(Role.name == ref.get("name"), Role.domain_id == ROOT_DOMAIN_ID))
    if role is None:
        raise NotFound(f"Role {ref.get('name')} is not defined")
    return role


def create(core: IdentityCore, ctx: AuthContext, body: dict[str, Any]) -> Trust:
    """Record a trust from the caller to a trustee.

    :raises Forbidden: the trustor is not the caller, an application credential's token, or a
        redelegation its trust does not allow.
    :raises Invalid: a bad expiry or use count, no roles on a project, roles the trustor lacks.
    :raises NotFound: an unknown trustee, project or role.
    """
    if body["trustor_user_id"] != ctx.user_id:
        raise Forbidden("The authenticated user should match the trustor.")
    if ctx.app_cred_id:
        raise Forbidden("Using method 'application_credential' is not allowed for managing trusts.")
    with core.store.session() as session:
        if session.get(User, body["trustee_user_id"]) is None:
            raise NotFound(f"Could not find user: {body['trustee_user_id']}.")
        expires_at = None
        if body.get("expires_at") is not None:
            expires_at = parse_timestamp(body["expires_at"])
            if expires_at <= utcnow():
                raise Invalid("The 'expires_at' must not be before now. The server could not comply with "
                              "the request since it is either malformed or otherwise incorrect. The client "
                              "is assumed to be in error.")
        roles = list({r.id: r for r in (_resolve_role(session, ref) for ref in body.get("roles") or [])}.values())
        project_id = body.get("project_id")
        if project_id:
            project = session.get(Project, project_id)
            if project is None:
                raise NotFound(f"Could not find project: {project_id}.")
            if not roles:
                raise Forbidden("At least one role should be specified.")
            held = {r.id for r in effective_roles(session, ctx.user_id, project=project)}
            for role in roles:
                if role.id not in held:
                    raise Forbidden(f"User {ctx.user_id} has no access to project {project_id} with role "
                                    f"{role.name}.")
        elif roles:
            raise Invalid("Roles can only be delegated on a project: project_id is required.")

        allow = bool(body.get("allow_redelegation"))
        count = body.get("redelegation_count")
        if (allow or ctx.trust_id) and body.get("remaining_uses") is not None:
            raise Invalid("remaining_uses must not be set if redelegation is allowed.")
        redelegated_from = None
        if ctx.trust_id:
            parent = get(session, ctx.trust_id)
            redelegated_from = _check_redelegation(parent, body, roles, project_id, expires_at)
            if expires_at is None:
                expires_at = parent.expires_at
            allow = allow and (parent.redelegation_count or 0) > 1
            count = (parent.redelegation_count or 0) - 1 if allow else None
        elif allow:
            if count is None:
                count = MAX_REDELEGATION_COUNT
            elif count > MAX_REDELEGATION_COUNT:
                raise Forbidden(f"Remaining redelegation depth of {count} out of allowed range of "
                                f"[0..{MAX_REDELEGATION_COUNT}].")
            allow = count > 0
            count = count if allow else None
        else:
            count = None
        trust = Trust(trustor_user_id=ctx.user_id, trustee_user_id=body["trustee_user_id"],
                      project_id=project_id or None, impersonation=bool(body["impersonation"]),
                      expires_at=expires_at, remaining_uses=body.get("remaining_uses"),
                      allow_redelegation=allow, redelegation_count=count, redelegated_trust_id=redelegated_from,
                      role_ids=[r.id for r in roles], extra=_extra(body))
        session.add(trust)
        session.flush()
        return trust


def _extra(body: dict[str, Any]) -> dict[str, Any]:
    known = {"trustor_user_id", "trustee_user_id", "project_id", "impersonation", "expires_at", "remaining_uses",
             "allow_redelegation", "redelegation_count", "roles", "id", "links"}
    return {k: v for k, v in body.items() if k not in known}


def _check_redelegation(parent: Trust, body: dict[str, Any], roles: list[Role], project_id: str | None,
                        expires_at: dt.datetime | None) -> str:
    """A trust made with a trust-scoped token. :raises Forbidden: what the parent trust does not allow."""
    if not parent.allow_redelegation or not parent.redelegation_count:
        raise Forbidden("Requested redelegation is not allowed for trust: the trust does not allow it or "
                        "its redelegation depth is exhausted.")
    if body.get("redelegation_count") is not None:
        raise Forbidden("Setting redelegation_count is not allowed on a redelegated trust.")
    if project_id != parent.project_id:
        raise Forbidden("Redelegated trust must be on the same project as its parent trust.")
    if not set(r.id for r in roles) <= set(parent.role_ids):
        raise Forbidden("Some of the requested roles are not in the redelegated trust.")
    if body.get("impersonation") and not parent.impersonation:
        raise Forbidden("Impersonation is not allowed because the redelegated trust does not allow it.")
    if parent.expires_at is not None and expires_at is not None and expires_at > parent.expires_at:
        raise Forbidden("Requested expiration time is more than the redelegated trust can provide.")
    return parent.id


def delete(core: IdentityCore, ctx: AuthContext, trust_id: str) -> None:
    """Delete the trust (and those redelegated from it) and revoke their tokens.

    :raises NotFound: :raises Forbidden: neither the trustor nor an administrator.
    """
    with core.store.session() as session:
        trust = get(session, trust_id)
        policy.enforce("identity:delete_trust", ctx, target(trust))
        ids = _with_redelegations(session, trust.id)
        for trust_row in session.scalars(select(Trust).where(Trust.id.in_(ids))):
            session.delete(trust_row)
    core.revocations.revoke_all([{"trust_id": i} for i in ids])


def _with_redelegations(session: Session, trust_id: str) -> list[str]:
    ids, frontier = [trust_id], [trust_id]
    while frontier:
        frontier = list(session.scalars(select(Trust.id).where(Trust.redelegated_trust_id.in_(frontier))))
        ids += frontier
    return ids


def delete_for_user(session: Session, user_id: str) -> Revocations:
    """A deleted user's trusts, as trustor or trustee: removed, their tokens to be revoked."""
    trusts = list(session.scalars(select(Trust).where(
        (Trust.trustor_user_id == user_id) | (Trust.trustee_user_id == user_id))))
    for trust in trusts:
        session.delete(trust)
    return [{"trust_id": t.id} for t in trusts]


# -- trust-scoped tokens -----------------------------------------------------------------------

def for_token(session: Session, trust_id: str, caller: User) -> tuple[Trust, User, Project, list[Role]]:
    """Check a trust-scoped token request by ``caller`` and use up one of the trust's uses.

    Returns the trust, the token's user (the trustor when impersonating, else the trustee), the
    project and the roles the token carries (the delegated roles and those they imply, as far as
    the trustor still holds them).

    :raises NotFound: no usable trust. :raises Forbidden: the caller is not the trustee, the
        trustor is disabled or no longer holds the delegated roles, or the trust has no project.
    """
    trust = get(session, trust_id)
    if trust.trustee_user_id != caller.id:
        raise Forbidden("You are not authorized to perform the requested action: the authenticated user "
                        "is not the trustee of the trust.")
    trustor = session.get(User, trust.trustor_user_id)
    if trustor is None or not trustor.enabled:
        raise Forbidden("The trustor is disabled or no longer exists.")
    project = session.get(Project, trust.project_id) if trust.project_id else None
    if project is None:
        raise Forbidden("A trust without a project cannot scope a token.")
    held = {r.id: r for r in effective_roles(session, trustor.id, project=project)
            if r.domain_id == ROOT_DOMAIN_ID}
    if not set(trust.role_ids) <= set(held):
        raise Forbidden("Trustor does not hold the roles the trust delegates on its project any more.")
    delegated = expand_implied(session, trust.role_ids)
    roles = [r for rid, r in sorted(held.items(), key=lambda kv: kv[1].name) if rid in delegated]
    if trust.remaining_uses is not None:
        trust.remaining_uses -= 1
    user = trustor if trust.impersonation else caller
    return trust, user, project, roles
