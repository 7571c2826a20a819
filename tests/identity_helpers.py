"""Records made straight in the store, so these tests do not depend on the users/projects API."""

from __future__ import annotations

from overcast.store.models import DEFAULT_DOMAIN_ID, Domain, Group, GroupMembership, Project, User, utcnow


def make_user(cloud, name: str, password: str = "secret-pass", domain_id: str = DEFAULT_DOMAIN_ID) -> str:
    identity = cloud.app.identity
    with identity.store.session() as session:
        user = User(name=name, domain_id=domain_id, password_hash=identity.hasher.hash(password),
                    password_created_at=utcnow())
        session.add(user)
        session.flush()
        cloud.passwords[name] = password
        return user.id


def make_project(cloud, name: str, domain_id: str = DEFAULT_DOMAIN_ID, parent_id: str | None = None) -> str:
    with cloud.app.identity.store.session() as session:
        project = Project(name=name, domain_id=domain_id, parent_id=parent_id)
        session.add(project)
        session.flush()
        return project.id


def make_domain(cloud, name: str) -> str:
    with cloud.app.identity.store.session() as session:
        domain = Domain(name=name)
        session.add(domain)
        session.flush()
        return domain.id


def make_group(cloud, name: str, members: tuple[str, ...] = (), domain_id: str = DEFAULT_DOMAIN_ID) -> str:
    with cloud.app.identity.store.session() as session:
        group = Group(name=name, domain_id=domain_id)
        session.add(group)
        session.flush()
        for user_id in members:
            session.add(GroupMembership(group_id=group.id, user_id=user_id))
        return group.id


def role_id(cloud, token: str, name: str) -> str:
    from tests.conftest import body
    return body(cloud.request("GET", f"/identity/v3/roles?name={name}", token))["roles"][0]["id"]
