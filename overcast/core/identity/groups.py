"""Groups and their membership. Removing a user from a group revokes that user's tokens (the
roles they held through it are gone); deleting a group removes its grants and revokes its
members' tokens."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.identity import fetch, split_extra
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.revocation import Revocations
from overcast.store.models import Assignment, Domain, Group, GroupMembership, User, new_id

GROUP_FIELDS = ("name", "domain_id", "description")


def get(session: Session, group_id: str) -> Group:
    """:raises NotFound: no such group."""
    return fetch(session, Group, group_id, "group")


def _duplicate(name: str, domain_id: str) -> Conflict:
    return Conflict(f"Conflict occurred attempting to store group - Duplicate entry found with name {name} "
                    f"at domain ID {domain_id}.")


def _assert_unique(session: Session, domain_id: str, name: str, group_id: str | None = None) -> None:
    query = select(Group.id).where(Group.domain_id == domain_id, Group.name == name)
    if group_id is not None:
        query = query.where(Group.id != group_id)
    if session.scalar(query) is not None:
        raise _duplicate(name, domain_id)


def create(session: Session, ref: dict[str, Any], *, default_domain_id: str) -> Group:
    """:raises NotFound: unknown domain. :raises Conflict: the name is taken in the domain."""
    domain_id = ref.get("domain_id") or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    _assert_unique(session, domain_id, ref["name"])
    group = Group(id=new_id(), name=ref["name"], domain_id=domain_id, description=ref.get("description") or "",
                  extra=split_extra(ref, GROUP_FIELDS))
    session.add(group)
    session.flush()
    return group


def update(session: Session, group: Group, ref: dict[str, Any]) -> None:
    """:raises Invalid: changing the id or domain. :raises Conflict: the new name is taken."""
    if "id" in ref and ref["id"] != group.id:
        raise Invalid("Cannot change ID")
    if "domain_id" in ref and ref["domain_id"] != group.domain_id:
        raise Invalid("Cannot change Domain ID")
    if "name" in ref and ref["name"] != group.name:
        _assert_unique(session, group.domain_id, ref["name"], group.id)
        group.name = ref["name"]
    if "description" in ref:
        group.description = ref["description"] or ""
    extra = dict(group.extra)
    extra.update(split_extra(ref, GROUP_FIELDS))
    group.extra = extra
    session.flush()


def member_ids(session: Session, group_id: str) -> list[str]:
    return list(session.scalars(select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)))


def delete_group(session: Session, group: Group) -> Revocations:
    """Delete a group, its grants and memberships; its members lose the tokens it gave them."""
    members = member_ids(session, group.id)
    session.execute(delete(Assignment).where(Assignment.type.in_(("GroupProject", "GroupDomain", "GroupSystem")),
                                             Assignment.actor_id == group.id))
    session.execute(delete(GroupMembership).where(GroupMembership.group_id == group.id))
    session.delete(group)
    session.flush()
    return [{"user_id": user_id} for user_id in members]


def delete_in_domain(session: Session, domain_id: str) -> Revocations:
    revocations: Revocations = []
    for group in list(session.scalars(select(Group).where(Group.domain_id == domain_id))):
        revocations += delete_group(session, group)
    return revocations


def _not_member(user_id: str, group_id: str) -> NotFound:
    return NotFound(f"User '{user_id}' not found in group '{group_id}'.")


def _user(session: Session, user_id: str) -> User:
    """:raises NotFound:"""
    return fetch(session, User, user_id, "user")


def add_member(session: Session, group: Group, user_id: str) -> None:
    """:raises NotFound: unknown user. Adding an existing member is a no-op, as in Keystone."""
    _user(session, user_id)
    if session.get(GroupMembership, (group.id, user_id)) is None:
        session.add(GroupMembership(group_id=group.id, user_id=user_id))
        session.flush()


def check_member(session: Session, group: Group, user_id: str) -> None:
    """:raises NotFound: unknown user, or not a member."""
    _user(session, user_id)
    if session.get(GroupMembership, (group.id, user_id)) is None:
        raise _not_member(user_id, group.id)


def remove_member(session: Session, group: Group, user_id: str) -> Revocations:
    """:raises NotFound: unknown user, or not a member."""
    membership = session.get(GroupMembership, (group.id, user_id))
    if membership is None:
        _user(session, user_id)
        raise _not_member(user_id, group.id)
    session.delete(membership)
    session.flush()
    return [{"user_id": user_id}]


def groups_of(session: Session, user_id: str, *, name: str | None = None,
              domain_id: str | None = None, matching: Sequence[TextFilter] = ()) -> list[Group]:
    query = (select(Group).join(GroupMembership, GroupMembership.group_id == Group.id)
             .where(GroupMembership.user_id == user_id).order_by(Group.name, Group.id))
    if name is not None:
        query = query.where(Group.name == name)
    if domain_id is not None:
        query = query.where(Group.domain_id == domain_id)
    return select_matching(session, query, Group, matching)


def users_in(session: Session, group_id: str, *, matching: Sequence[TextFilter] = (), **filters: Any) -> list[User]:
    query = (select(User).join(GroupMembership, GroupMembership.user_id == User.id)
             .where(GroupMembership.group_id == group_id).order_by(User.name, User.id))
    for key in ("name", "domain_id"):
        if filters.get(key) is not None:
            query = query.where(getattr(User, key) == filters[key])
    if filters.get("enabled") is not None:
        query = query.where(User.enabled.is_(filters["enabled"]))
    return select_matching(session, query, User, matching)


def list_groups(session: Session, *, name: str | None = None, domain_id: str | None = None,
                matching: Sequence[TextFilter] = ()) -> list[Group]:
    query = select(Group).order_by(Group.name, Group.id)
    if name is not None:
        query = query.where(Group.name == name)
    if domain_id is not None:
        query = query.where(Group.domain_id == domain_id)
    return select_matching(session, query, Group, matching)
