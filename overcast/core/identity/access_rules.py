"""Application credential access rules: the service, path template and method a restricted
credential may call. Rules belong to their user and outlive the credentials that named them, so
a later credential can reuse one by id; a rule still named by a credential cannot be deleted.

Overcast records and shows the rules; enforcing them on each service request is not done yet
(Keystone leaves that to keystonemiddleware).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Forbidden, NotFound
from overcast.store.models import AccessRule, ApplicationCredential, User



def as_dict(rule: AccessRule) -> dict[str, str]:
    """The form an application credential keeps and shows."""
    return {"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method}


def get(session: Session, user_id: str, rule_id: str) -> AccessRule:
    """:raises NotFound:"""
    rule = session.get(AccessRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"Could not find Access Rule: {rule_id}.")
    return rule


def list_for_user(session: Session, user_id: str) -> list[AccessRule]:
    """:raises NotFound: unknown user."""
    if session.get(User, user_id) is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return list(session.scalars(select(AccessRule).where(AccessRule.user_id == user_id)
                                .order_by(AccessRule.service, AccessRule.path, AccessRule.method)))


def resolve(session: Session, user_id: str, refs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The rules an application credential asks for: by id (the user's own), or by content, made
    when the user has no such rule yet. :raises NotFound: an unknown rule id."""
    rules: list[AccessRule] = []
    for ref in refs:
        if ref.get("id") and not {"service", "path", "method"} <= set(ref):
            rule = get(session, user_id, ref["id"])
        else:
            rule = session.scalar(select(AccessRule).where(
                AccessRule.user_id == user_id, AccessRule.service == ref["service"],
                AccessRule.path == ref["path"], AccessRule.method == ref["method"]))
            if rule is None:
                rule = AccessRule(user_id=user_id, service=ref["service"], path=ref["path"], method=ref["method"])
                session.add(rule)
                session.flush()
        rules.append(rule)
    return [as_dict(r) for r in {r.id: r for r in rules}.values()]


def delete(session: Session, user_id: str, rule_id: str) -> None:
    """:raises NotFound: :raises Forbidden: an application credential still uses the rule."""
    rule = get(session, user_id, rule_id)
    for cred in session.scalars(select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)):
        if any(r.get("id") == rule_id for r in cred.access_rules):
            raise Forbidden(f"Cannot delete access rule {rule_id}: it is in use by application credential "
                            f"{cred.id}.")
    session.delete(rule)
