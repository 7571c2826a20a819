"""Users: creation with a hashed password, updates, self-service password change, and what a
disabled or deleted user loses (every token, and on deletion their grants, memberships and
application credentials).

Passwords are hashed with the core's hasher and never returned or logged. Mutating functions
return the revocations to apply after commit (see :meth:`overcast.core.revocation.RevocationChecker.revoke_all`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound, Unauthorized
from overcast.core.identity import IdentityCore, fetch
from overcast.core.identity import security_compliance, split_extra
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.revocation import Revocations
from overcast.store.models import (ApplicationCredential, Assignment, Credential, Domain, GroupMembership, User,
                                   new_id, utcnow)

USER_FIELDS = ("name", "domain_id", "enabled", "default_project_id", "description", "email", "password",
               "options", "federated", "password_expires_at")
#: Keystone's user options (identity.backends.resource_options).
USER_OPTIONS = ("ignore_change_password_upon_first_use", "ignore_password_expiry",
                "ignore_lockout_failure_attempts", "lock_password", "multi_factor_auth_rules",
                "multi_factor_auth_enabled", "ignore_user_inactivity")
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "lt": lambda c, v: c < v, "lte": lambda c, v: c <= v, "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v, "eq": lambda c, v: c == v, "neq": lambda c, v: c != v,
}


def get(session: Session, user_id: str) -> User:
    """:raises NotFound: no such user."""
    return fetch(session, User, user_id, "user")


def _duplicate(name: str, domain_id: str) -> Conflict:
    return Conflict(f"Conflict occurred attempting to store user - Duplicate entry found with name {name} "
                    f"at domain ID {domain_id}.")


def _options(ref: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    options = dict(current or {})
    for key, value in (ref.get("options") or {}).items():
        if key not in USER_OPTIONS:
            raise Invalid(f"Invalid input for field 'options': unknown user option {key}.")
        if value is None:
            options.pop(key, None)
        else:
            options[key] = value
    return options


def _check_default_project(session: Session, project_id: str | None) -> None:
    if project_id and session.get(Domain, project_id) is not None:
        raise Invalid("User's default project ID cannot be a domain ID.")


def create(core: IdentityCore, session: Session, ref: dict[str, Any], *, default_domain_id: str) -> User:
    """Create a user from a validated request ``ref``.

    :raises NotFound: the domain does not exist.
    :raises Conflict: the name is taken in the domain.
    """
    domain_id = ref.get("domain_id") or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    name = ref["name"]
    if session.scalar(select(User.id).where(User.domain_id == domain_id, User.name == name)) is not None:
        raise _duplicate(name, domain_id)
    _check_default_project(session, ref.get("default_project_id"))
    password = ref.get("password")
    if password is not None:
        security_compliance.check_regex(core.settings.identity, password)
    now = utcnow()
    user = User(id=new_id(), name=name, domain_id=domain_id, enabled=ref.get("enabled", True),
                default_project_id=ref.get("default_project_id"), description=ref.get("description") or "",
                email=ref.get("email"), options=_options(ref), extra=split_extra(ref, USER_FIELDS),
                password_hash=core.hasher.hash(password) if password is not None else None,
                password_created_at=now if password is not None else None, created_at=now)
    session.add(user)
    session.flush()
    if password is not None:
        user.password_expires_at = security_compliance.expiry(core.settings.identity, user, by_admin=True)
        security_compliance.record(core.settings.identity, session, user)
    return user


def update(core: IdentityCore, session: Session, user: User, ref: dict[str, Any], *,
           self_service: bool = False) -> Revocations:
    """Apply a validated PATCH ``ref``; a new password or disabling revokes the user's tokens.

    A password an administrator sets obeys ``password_regex`` and, with
    ``change_password_upon_first_use``, is expired at once; ``self_service`` is the owner's own change.

    :raises Invalid: changing the id or domain, or an unknown option.
    :raises Conflict: the new name is taken.
    """
    if "id" in ref and ref["id"] != user.id:
        raise Invalid("Cannot change ID")
    if "domain_id" in ref and ref["domain_id"] != user.domain_id:
        raise Invalid("Cannot change Domain ID")
    revocations: Revocations = []
    if "name" in ref and ref["name"] != user.name:
        taken = session.scalar(select(User.id).where(User.domain_id == user.domain_id, User.name == ref["name"],
                                                     User.id != user.id))
        if taken is not None:
            raise _duplicate(ref["name"], user.domain_id)
        user.name = ref["name"]
    if "enabled" in ref:
        if user.enabled and not ref["enabled"]:
            revocations.append({"user_id": user.id})
        user.enabled = ref["enabled"]
    if "default_project_id" in ref:
        _check_default_project(session, ref["default_project_id"])
        user.default_project_id = ref["default_project_id"]
    if "description" in ref:
        user.description = ref["description"] or ""
    if "email" in ref:
        user.email = ref["email"]
    if "options" in ref:
        user.options = _options(ref, user.options)
    if "password" in ref:
        password = ref["password"]
        if password is not None:
            security_compliance.check_regex(core.settings.identity, password)
        user.password_hash = core.hasher.hash(password) if password is not None else None
        user.password_created_at = utcnow()
        user.password_expires_at = (None if password is None else security_compliance.expiry(
            core.settings.identity, user, by_admin=not self_service))
        security_compliance.record(core.settings.identity, session, user)
        user.failed_auth_count = 0
        user.failed_auth_at = None
        revocations.append({"user_id": user.id})
    extra = dict(user.extra)
    extra.update(split_extra(ref, USER_FIELDS))
    user.extra = extra
    session.flush()
    return list({tuple(r.items()): r for r in revocations}.values())


def change_password(core: IdentityCore, session: Session, user_id: str, original: str, new: str) -> Revocations:
    """Self-service password change: the original password must be right.

    :raises Unauthorized: unknown user, wrong original password, or a disabled user (the same
        answer for each, at the same cost).
    """
    user = session.get(User, user_id)
    ok = core.hasher.verify(original, user.password_hash if user is not None else None)
    if user is None or not ok:
        raise Unauthorized("Error when changing user password: Invalid user / password")
    if not user.enabled:
        raise Unauthorized(f"Error when changing user password: User is disabled: {user.id}")
    if user.options.get("lock_password"):
        raise Unauthorized("Error when changing user password: You cannot change your password at this time "
                           "due to password policy disallowing password changes. Please contact your "
                           "administrator to reset your password.")
    security_compliance.check_minimum_age(core.settings.identity, user)
    security_compliance.check_history(core.settings.identity, core.hasher, session, user, new)
    return update(core, session, user, {"password": new}, self_service=True)


def delete_user(session: Session, user: User) -> Revocations:
    """Delete a user with their grants, group memberships, application credentials and credentials."""
    session.execute(delete(Assignment).where(Assignment.type.in_(("UserProject", "UserDomain", "UserSystem")),
                                             Assignment.actor_id == user.id))
    session.execute(delete(GroupMembership).where(GroupMembership.user_id == user.id))
    session.execute(delete(ApplicationCredential).where(ApplicationCredential.user_id == user.id))
    session.execute(delete(Credential).where(Credential.user_id == user.id))
    from overcast.core.identity.trusts import delete_for_user as delete_trusts

    user_id = user.id
    trust_revocations = delete_trusts(session, user_id)
    session.delete(user)
    session.flush()
    return [{"user_id": user_id}, *trust_revocations]


def delete_in_domain(session: Session, domain_id: str) -> Revocations:
    revocations: Revocations = []
    for user in list(session.scalars(select(User).where(User.domain_id == domain_id))):
        revocations += delete_user(session, user)
    return revocations


def _timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def parse_expiry_filter(value: str) -> tuple[str, dt.datetime]:
    """Parse ``password_expires_at`` (``{operator}:{timestamp}``, operator defaulting to ``eq``).

    :raises Invalid: an unknown operator or a malformed timestamp.
    """
    operator, _, stamp = value.partition(":")
    if operator not in _OPERATORS or not stamp:
        operator, stamp = "eq", value
    try:
        return operator, _timestamp(stamp)
    except ValueError:
        raise Invalid(f"Invalid input for field 'password_expires_at': {value!r} is not a "
                      "valid '{operator}:{timestamp}' filter.") from None


def list_users(session: Session, *, name: str | None = None, domain_id: str | None = None,
               enabled: bool | None = None, password_expires_at: str | None = None,
               matching: Sequence[TextFilter] = ()) -> list[User]:
    query = select(User).order_by(User.name, User.id)
    if name is not None:
        query = query.where(User.name == name)
    if domain_id is not None:
        query = query.where(User.domain_id == domain_id)
    if enabled is not None:
        query = query.where(User.enabled.is_(enabled))
    if password_expires_at is not None:
        operator, when = parse_expiry_filter(password_expires_at)
        query = query.where(_OPERATORS[operator](User.password_expires_at, when))
    return select_matching(session, query, User, matching)
