"""First start, DevStack's way: keys, schema, the default domain, roles, the admin, demo and
alt_demo accounts, the catalog, and a ready ``clouds.yaml``. Safe to run again at every start."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.config import Secret
from overcast.core.identity import IdentityCore
from overcast.core.identity.catalog import sync_from_settings
from overcast.store.models import (DEFAULT_DOMAIN_ID, ROOT_DOMAIN_ID, Assignment, Domain, ImpliedRole, Project,
                                   Role, User,
                                   utcnow)

#: Keystone's bootstrap roles and the inference rules between them.
ROLES = ("admin", "manager", "member", "reader", "service")
IMPLIES = (("admin", "manager"), ("manager", "member"), ("member", "reader"))

#: (user, project, role on project, also system admin)
ACCOUNTS = (
    ("admin", "admin", "admin", True),
    ("demo", "demo", "member", False),
    ("alt_demo", "alt_demo", "member", False),
)


@dataclass(frozen=True)
class Account:
    username: str
    project: str
    password: str


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _configured(core: IdentityCore) -> dict[str, Secret | None]:
    return {
        "admin": core.settings.bootstrap.admin_password,
        "demo": core.settings.bootstrap.demo_password,
        "alt_demo": core.settings.bootstrap.alt_demo_password,
    }


def _passwords(core: IdentityCore) -> dict[str, str]:
    """Configured passwords win; otherwise ones generated once and kept in the data directory."""
    path = core.settings.data_dir / "bootstrap-passwords.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    configured = _configured(core)
    result = {}
    for user, secret in configured.items():
        result[user] = secret.reveal() if secret is not None else stored.get(user) or secrets.token_urlsafe(18)
    generated = {u: p for u, p in result.items() if configured[u] is None}
    if generated != stored:
        _write_private(path, json.dumps(generated, indent=2))
    return result


def _get_or_add(session: Session, model: type, where: dict, **values: object):  # noqa: ANN202
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        row = model(**where, **values)
        session.add(row)
        session.flush()
    return row


def _grant(session: Session, kind: str, actor_id: str, target_id: str, role_id: str) -> None:
    key = dict(type=kind, actor_id=actor_id, target_id=target_id, role_id=role_id, inherited=False)
    if session.get(Assignment, tuple(key[k] for k in ("type", "actor_id", "target_id", "role_id", "inherited"))) is None:
        session.add(Assignment(**key))


def bootstrap(core: IdentityCore) -> list[Account]:
    """Prepare everything a first start needs; returns the accounts (with passwords) it ensured."""
    settings = core.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    core.tokens.keys.setup()
    core.credentials.keys.setup()
    core.store.upgrade(core.settings.regions[0])
    passwords = _passwords(core)
    # Only passwords set in the configuration can change between starts; generated ones cannot.
    configured = {u for u, secret in _configured(core).items() if secret is not None}
    accounts = []
    with core.store.session() as session:
        _get_or_add(session, Domain, {"id": DEFAULT_DOMAIN_ID}, name="Default",
                    description="The default domain")
        roles = {name: _get_or_add(session, Role, {"name": name, "domain_id": ROOT_DOMAIN_ID})
                 for name in ROLES}
        for prior, implied in IMPLIES:
            if session.get(ImpliedRole, (roles[prior].id, roles[implied].id)) is None:
                session.add(ImpliedRole(prior_role_id=roles[prior].id, implied_role_id=roles[implied].id))
        for username, project_name, role_name, system_admin in ACCOUNTS:
            project = _get_or_add(session, Project, {"name": project_name, "domain_id": DEFAULT_DOMAIN_ID},
                                  description=f"Bootstrap project {project_name}")
            user = session.scalar(select(User).filter_by(name=username, domain_id=DEFAULT_DOMAIN_ID))
            password = passwords[username]
            if user is None:
                user = User(name=username, domain_id=DEFAULT_DOMAIN_ID, default_project_id=project.id,
                            password_hash=core.hasher.hash(password), password_created_at=utcnow())
                session.add(user)
                session.flush()
            elif username in configured and not core.hasher.verify(password, user.password_hash):
                user.password_hash = core.hasher.hash(password)
                user.password_created_at = utcnow()
            _grant(session, "UserProject", user.id, project.id, roles[role_name].id)
            if system_admin:
                _grant(session, "UserSystem", user.id, "system", roles["admin"].id)
                _grant(session, "UserDomain", user.id, DEFAULT_DOMAIN_ID, roles["admin"].id)
            accounts.append(Account(username, project_name, password))
        sync_from_settings(session, settings)
    core.catalog.invalidate()
    _write_private(settings.data_dir / "clouds.yaml", clouds_yaml(core, accounts))
    return accounts


def clouds_yaml(core: IdentityCore, accounts: list[Account]) -> str:
    """DevStack's clouds: overcast (demo), overcast-alt, overcast-admin, overcast-system-admin."""
    settings = core.settings
    by_user = {a.username: a for a in accounts}
    auth_url = settings.public_url + "/identity"

    def cloud(account: Account, system: bool = False) -> dict:
        auth = {"auth_url": auth_url, "username": account.username, "password": account.password,
                "user_domain_id": DEFAULT_DOMAIN_ID}
        if system:
            auth["system_scope"] = "all"
        else:
            auth.update(project_name=account.project, project_domain_id=DEFAULT_DOMAIN_ID)
        # every configured cloud is a region: ``regions`` lets ``--os-region-name <any>`` pick one
        return {"auth": auth, "region_name": settings.regions[0], "regions": list(settings.regions),
                "identity_api_version": 3, "interface": "public"}

    clouds = {
        "overcast": cloud(by_user["demo"]),
        "overcast-alt": cloud(by_user["alt_demo"]),
        "overcast-admin": cloud(by_user["admin"]),
        "overcast-system-admin": cloud(by_user["admin"], system=True),
    }
    return yaml.safe_dump({"clouds": clouds}, sort_keys=False)
