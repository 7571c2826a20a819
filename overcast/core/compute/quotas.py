"""Nova's quotas: defaults, per-project overrides, usage counted from the records, atomic reserve.

Limits are Nova's defaults (``nova.conf [quota]``), overridden by the ``default`` quota class
(:class:`~overcast.store.compute.QuotaClass` rows, os-quota-class-sets), then per project (and
optionally per project user) by :class:`~overcast.store.compute.QuotaLimit` rows; ``-1`` means
unlimited.
Usage is never stored: it is counted from the records (Nova's "counting quota" driver), so it
cannot drift from what exists. Limits are the project's everywhere; usage is counted per region,
so each region enforces them on its own resources, as each region's Nova of a multi-region
OpenStack does (0008).

Atomicity (:func:`reserve`): the check and the caller's insert of the new records must happen
under one per-project lock, in the same transaction.

* PostgreSQL: :func:`lock_project` upserts the project's lock row in ``quota_limit``
  (resource ``LOCK_RESOURCE``) and takes it with ``SELECT ... FOR UPDATE``; a second reserve
  for the same project waits until the first transaction commits, then counts the new records.
* SQLite: the lock row upsert is the transaction's first write, so pysqlite opens the write
  transaction there; SQLite admits one writer at a time (others wait on the busy timeout) and
  every read after that point sees everything committed before. Reads a caller made earlier in
  the session ran outside a transaction (pysqlite opens one only before a write), so nothing
  stale is carried in.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.core.errors import Forbidden, Invalid
from overcast.store.compute import Flavor, KeyPair, QuotaClass, QuotaLimit, Server, ServerGroup, ServerGroupMember
from overcast.store.models import put_row

#: Nova's default limits (nova.conf [quota]).
DEFAULTS: dict[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
}

#: What Nova answered for the network resources below 2.36 (nova-network's defaults).
NETWORK_DEFAULTS: dict[str, int] = {
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "security_group_rules": 20,
}

RESOURCES: tuple[str, ...] = tuple(DEFAULTS)
#: The lock row's resource name (never a real resource; hidden from every listing).
LOCK_RESOURCE = "__lock__"
UNLIMITED = -1


#: The quota class whose limits are every project's defaults (the only class Nova applies).
DEFAULT_CLASS = "default"
#: What a quota class holds: the compute limits and the legacy network ones shown below 2.50.
CLASS_RESOURCES: tuple[str, ...] = (*DEFAULTS, *NETWORK_DEFAULTS)
MAX_LIMIT = 2147483647


def class_limits(session: Session, class_name: str) -> dict[str, int]:
    """A quota class's limits: Nova's configured defaults overridden by the class's own rows
    (Nova's ``get_class_quotas``); an unknown class has the configured defaults."""
    result = {**DEFAULTS, **NETWORK_DEFAULTS}
    rows = session.scalars(select(QuotaClass).where(QuotaClass.class_name == class_name))
    result.update({row.resource: row.hard_limit for row in rows if row.resource in result})
    return result


def all_defaults(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """The ``default`` quota class's compute limits (every project's defaults) and its legacy
    network limits (which Nova shows below 2.36), from one read of the class."""
    values = class_limits(session, DEFAULT_CLASS)
    return {name: values[name] for name in DEFAULTS}, {name: values[name] for name in NETWORK_DEFAULTS}


def defaults(session: Session) -> dict[str, int]:
    """Every project's default limits: the ``default`` quota class's compute limits."""
    return all_defaults(session)[0]


def network_defaults(session: Session) -> dict[str, int]:
    """The legacy network limits Nova shows below 2.36: the ``default`` quota class's."""
    return all_defaults(session)[1]


def update_class(session: Session, class_name: str, values: Mapping[str, int]) -> dict[str, int]:
    """Create or change a quota class's limits; returns all of the class's limits.

    :raises Invalid: a class name longer than 255 characters, a resource a class does not
        hold, a limit outside -1..2147483647.
    """
    if len(class_name) > 255:
        raise Invalid(f"quota_class_name has {len(class_name)} characters, more than 255.")
    for name, value in values.items():
        if name not in CLASS_RESOURCES:
            raise Invalid(f"Unknown quota resource {name}.")
        if not UNLIMITED <= value <= MAX_LIMIT:
            raise Invalid(f"Quota limit {value} for {name} must be between -1 and {MAX_LIMIT}.")
    for name, value in values.items():
        put_row(session, QuotaClass, {"class_name": class_name, "resource": name}, hard_limit=value)
    session.flush()
    return class_limits(session, class_name)


def _overrides(session: Session, project_id: str, user_id: str = "") -> dict[str, int]:
    rows = session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                                    QuotaLimit.user_id == user_id,
                                                    QuotaLimit.resource != LOCK_RESOURCE))
    return {row.resource: row.hard_limit for row in rows if row.resource in DEFAULTS}


def limits(session: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """The limits in force: defaults, then the project's overrides, then the user's."""
    result = defaults(session)
    result.update(_overrides(session, project_id))
    if user_id:
        result.update(_overrides(session, project_id, user_id))
    return result


def _flavor_size(server: Server, sizes: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    flavor = server.flavor or {}
    vcpus, ram = flavor.get("vcpus"), flavor.get("ram")
    if vcpus is None or ram is None:
        vcpus, ram = sizes.get(server.flavor_id, (0, 0))
    new = server.new_flavor or {}
    # during a resize Nova holds the larger of the two flavors
    return max(int(vcpus), int(new.get("vcpus") or 0)), max(int(ram), int(new.get("ram") or 0))


def usage(session: Session, project_id: str, user_id: str | None = None, *, region: str) -> dict[str, int]:
    """What the project (and, for key pairs, the user) uses now in ``region``, counted from the records."""
    servers = session.execute(
        select(Server.flavor_id, Server.flavor, Server.new_flavor)
        .where(Server.project_id == project_id, Server.cloud == region, Server.deleted.is_(False))).all()
    sizes = {f.id: (f.vcpus, f.ram) for f in session.scalars(select(Flavor))} if any(
        not (s.flavor or {}).get("vcpus") for s in servers) else {}
    cores = ram = 0
    for row in servers:
        vcpus, mem = _flavor_size(row, sizes)  # type: ignore[arg-type]
        cores += vcpus
        ram += mem
    used = {name: 0 for name in DEFAULTS}
    used.update(instances=len(servers), cores=cores, ram=ram)
    used["server_groups"] = session.scalar(
        select(func.count()).select_from(ServerGroup).where(ServerGroup.project_id == project_id,
                                                            ServerGroup.cloud == region)) or 0
    if user_id:
        used["key_pairs"] = session.scalar(
            select(func.count()).select_from(KeyPair).where(KeyPair.user_id == user_id, KeyPair.cloud == region)) or 0
    return used


def group_members(session: Session, group_id: str) -> int:
    """How many live servers a server group has (the server_group_members count)."""
    return session.scalar(
        select(func.count()).select_from(ServerGroupMember)
        .join(Server, Server.id == ServerGroupMember.server_id)
        .where(ServerGroupMember.group_id == group_id, Server.deleted.is_(False))) or 0


def lock_project(session: Session, project_id: str) -> None:
    """Serialise quota checks for one project until this transaction ends (see the module doc)."""
    dialect = session.get_bind().dialect.name
    values = {"project_id": project_id, "user_id": "", "resource": LOCK_RESOURCE, "hard_limit": 0}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(QuotaLimit).values(**values).on_conflict_do_nothing())
        session.execute(select(QuotaLimit.hard_limit).where(
            QuotaLimit.project_id == project_id, QuotaLimit.user_id == "",
            QuotaLimit.resource == LOCK_RESOURCE).with_for_update())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(QuotaLimit).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases are not supported by the store
        session.execute(select(QuotaLimit).where(QuotaLimit.project_id == project_id).with_for_update())


def exceeded_message(overs: Iterable[str], requested: Mapping[str, int], used: Mapping[str, int],
                     allowed: Mapping[str, int]) -> str:
    """Nova's TooManyInstances text, for one or several resources."""
    names = list(overs)

    def joined(values: Mapping[str, int]) -> str:
        return ", ".join(str(values[n]) for n in names)

    over = ", ".join(names)
    return (f"Quota exceeded for {over}: Requested {joined(requested)}, but already used "
            f"{joined(used)} of {joined(allowed)} {over}")


def check(session: Session, project_id: str, user_id: str, deltas: Mapping[str, int], *, region: str) -> None:
    """Check ``deltas`` against the limits and ``region``'s usage without locking. :raises Forbidden: over quota."""
    unknown = set(deltas) - set(DEFAULTS)
    if unknown:
        raise Invalid(f"Unknown quota resources {', '.join(sorted(unknown))}.")
    allowed = limits(session, project_id, user_id)
    used = usage(session, project_id, user_id, region=region)
    overs = [name for name, delta in deltas.items()
             if delta > 0 and allowed[name] != UNLIMITED and used[name] + delta > allowed[name]]
    if overs:
        raise Forbidden(exceeded_message(overs, deltas, used, allowed))


def reserve(session: Session, project_id: str, user_id: str, deltas: dict[str, int], *, region: str) -> None:
    """Lock the project's quota and check that ``deltas`` fit; the caller then adds its records
    in the same transaction (the lock holds until it commits or rolls back).

    ``deltas`` maps resource names (``instances``, ``cores``, ``ram``, ``key_pairs``,
    ``server_groups``, ...) to the amounts about to be used.

    :raises Forbidden: over quota, with Nova's message ("Quota exceeded for instances: Requested
        1, but already used 10 of 10 instances").
    :raises Invalid: an unknown resource name.
    """
    lock_project(session, project_id)
    check(session, project_id, user_id, deltas, region=region)



def check_injected_files(session: Session, project_id: str, user_id: str,
                         files: Iterable[tuple[str, str]]) -> None:
    """Nova's personality limits (``_check_injected_file_quota``): how many files, then the longest
    path and the longest content (base64 text, as Nova measures it), the path reported first.

    :raises Forbidden: over a limit, with Nova's message.
    """
    files = list(files)
    allowed = limits(session, project_id, user_id)

    def over(name: str, value: int) -> bool:
        return allowed[name] != UNLIMITED and value > allowed[name]

    if over("injected_files", len(files)):
        raise Forbidden("Personality file limit exceeded")
    if over("injected_file_path_bytes", max((len(path) for path, _ in files), default=0)):
        raise Forbidden(f"Personality file path exceeds maximum {allowed['injected_file_path_bytes']}")
    if over("injected_file_content_bytes", max((len(content) for _, content in files), default=0)):
        raise Forbidden(f"Personality file content exceeds maximum {allowed['injected_file_content_bytes']}")


# -- administration (os-quota-sets) -------------------------------------------------------------

def detail(session: Session, project_id: str, user_id: str | None = None, *,
           region: str) -> dict[str, dict[str, int]]:
    """Limits and ``region``'s usage (os-quota-sets detail)."""
    allowed = limits(session, project_id, user_id)
    used = usage(session, project_id, user_id, region=region)
    return {name: {"limit": allowed[name], "in_use": used[name], "reserved": 0} for name in DEFAULTS}


def update(session: Session, project_id: str, values: Mapping[str, int], *, user_id: str | None = None,
           force: bool = False, region: str) -> dict[str, int]:
    """Set the project's (or its user's) limits. Unless ``force``, a limit below what is in use in
    ``region`` (the region asked) is refused as Nova does. :raises Invalid:"""
    for name, value in values.items():
        if name not in DEFAULTS:
            raise Invalid(f"Unknown quota resource {name}.")
        if value < UNLIMITED:
            raise Invalid(f"Quota limit {value} for {name} must be -1 or greater.")
    if not force:
        used = usage(session, project_id, user_id, region=region)
        for name, value in values.items():
            if value != UNLIMITED and value < used[name]:
                raise Invalid(f"Quota limit {value} for {name} must be greater than or equal to "
                              f"already used and reserved {used[name]}.")
    owner = user_id or ""
    for name, value in values.items():
        put_row(session, QuotaLimit, {"project_id": project_id, "user_id": owner, "resource": name},
                hard_limit=value)
    session.flush()
    return limits(session, project_id, user_id)


def reset(session: Session, project_id: str, user_id: str | None = None) -> None:
    """Drop the project's (or its user's) overrides: the defaults apply again."""
    query = select(QuotaLimit).where(QuotaLimit.project_id == project_id, QuotaLimit.resource != LOCK_RESOURCE)
    if user_id:
        query = query.where(QuotaLimit.user_id == user_id)
    for row in session.scalars(query):
        session.delete(row)


def as_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in DEFAULTS if name in values}
