"""Keystone's ``[security_compliance]`` password rules.

* ``password_regex`` (with ``password_regex_description``): every password set, by an
  administrator or by its owner, must match.
* ``unique_last_password_count``: a self-service change may not reuse any of the last N
  passwords (the current one included); an administrator's reset is not held to it.
* ``minimum_password_age``: days before a self-service change is allowed again.
* ``password_expires_days``: a password expires that many days after it is set, unless the user
  has the ``ignore_password_expiry`` option.
* ``change_password_upon_first_use``: a password an administrator set (on create or reset) is
  expired at once, so the user must change it before logging in, unless the user has the
  ``ignore_change_password_upon_first_use`` option.
* Lockout (``lockout_failure_attempts``, ``lockout_duration``) is in auth.py.

Every password set is kept (hashed) in ``password_history``, pruned to what the rules need.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.config import IdentitySettings
from overcast.core.errors import Invalid
from overcast.core.passwords import PasswordHasher
from overcast.store.models import PasswordHistory, User, utcnow

_PREFIX = "Password validation error: "


def check_regex(settings: IdentitySettings, password: str) -> None:
    """:raises Invalid: the password does not match ``password_regex``."""
    if settings.password_regex and not re.match(settings.password_regex, password):
        detail = settings.password_regex_description or f"it must match {settings.password_regex!r}"
        raise Invalid(f"{_PREFIX}The password does not meet the requirements: {detail}.")


def check_minimum_age(settings: IdentitySettings, user: User) -> None:
    """:raises Invalid: the current password is younger than ``minimum_password_age`` days."""
    days = settings.minimum_password_age
    if not days or user.password_created_at is None:
        return
    allowed_at = user.password_created_at + dt.timedelta(days=days)
    now = utcnow()
    if now < allowed_at:
        left = max(1, math.ceil((allowed_at - now).total_seconds() / 86400))
        raise Invalid(f"{_PREFIX}You cannot change your password at this time due to the minimum password "
                      f"age. Once you change your password, it must be used for {days} day(s) before it can "
                      f"be changed. Please try again in {left} day(s) or contact your administrator to reset "
                      f"your password.")


def _recent_hashes(session: Session, user: User, count: int) -> list[str]:
    rows = list(session.scalars(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                                .order_by(PasswordHistory.id.desc()).limit(count)))
    if user.password_hash and user.password_hash not in rows:
        rows.insert(0, user.password_hash)
    return rows[:count]


def check_history(settings: IdentitySettings, hasher: PasswordHasher, session: Session, user: User,
                  password: str) -> None:
    """:raises Invalid: the password is one of the last ``unique_last_password_count`` ones (the
    current one included), as Keystone checks it."""
    count = settings.unique_last_password_count
    if count <= 0:
        return
    for hashed in _recent_hashes(session, user, count):
        if hasher.verify(password, hashed, remember=False):
            raise Invalid(f"{_PREFIX}The new password cannot be identical to a previous password. The total "
                          f"number which includes the new password must be unique is {count}.")


def expiry(settings: IdentitySettings, user: User, *, by_admin: bool) -> dt.datetime | None:
    """When a password set now expires."""
    now = utcnow()
    if (by_admin and settings.change_password_upon_first_use
            and not user.options.get("ignore_change_password_upon_first_use")):
        return now
    if settings.password_expires_days and not user.options.get("ignore_password_expiry"):
        return now + dt.timedelta(days=settings.password_expires_days)
    return None


def record(settings: IdentitySettings, session: Session, user: User) -> None:
    """Keep the user's new password hash in the history, and no more of it than needed."""
    if user.password_hash is None:
        return
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    session.flush()
    keep = max(settings.unique_last_password_count, 1)
    stale = list(session.scalars(select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
                                 .order_by(PasswordHistory.id.desc()).offset(keep)))
    if stale:
        session.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(stale)))
