"""Domain-specific configuration: per-domain overrides of the ``identity`` and ``ldap`` option
groups, kept as JSON per domain as Keystone's domain config API does (Overcast records it; it runs
no LDAP driver). Options Keystone treats as sensitive (the LDAP bind password) are stored but never
shown."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from overcast.core.errors import Forbidden, NotFound
from overcast.core.identity import domains as core_domains
from overcast.store.models import DomainConfig

Config = dict[str, dict[str, Any]]

#: The options a domain may set and Keystone's defaults for them, by group.
DEFAULTS: Config = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost", "randomize_urls": False, "user": None, "suffix": "cn=example,cn=com",
        "query_scope": "one", "page_size": 0, "alias_dereferencing": "default", "debug_level": None,
        "chase_referrals": None, "user_tree_dn": None, "user_filter": None,
        "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn", "user_name_attribute": "sn",
        "user_description_attribute": "description", "user_mail_attribute": "mail",
        "user_pass_attribute": "userPassword", "user_enabled_attribute": "enabled",
        "user_enabled_invert": False, "user_enabled_mask": 0, "user_enabled_default": "True",
        "user_attribute_ignore": ["default_project_id"], "user_default_project_id_attribute": None,
        "user_enabled_emulation": False, "user_enabled_emulation_dn": None,
        "user_enabled_emulation_use_group_config": False, "user_additional_attribute_mapping": [],
        "group_tree_dn": None, "group_filter": None, "group_objectclass": "groupOfNames",
        "group_id_attribute": "cn", "group_name_attribute": "ou", "group_member_attribute": "member",
        "group_members_are_ids": False, "group_desc_attribute": "description", "group_attribute_ignore": [],
        "group_additional_attribute_mapping": [], "group_ad_nesting": False, "tls_cacertfile": None,
        "tls_cacertdir": None, "use_tls": False, "tls_req_cert": "demand", "connection_timeout": -1,
        "use_pool": True, "pool_size": 10, "pool_retry_max": 3, "pool_retry_delay": 0.1,
        "pool_connection_timeout": -1, "pool_connection_lifetime": 600, "use_auth_pool": True,
        "auth_pool_size": 100, "auth_pool_connection_lifetime": 60,
    },
}
#: Options that may be set but are never returned.
SENSITIVE: dict[str, tuple[str, ...]] = {"identity": (), "ldap": ("password",)}
GROUPS = tuple(DEFAULTS)


def _invalid(reason: str) -> Forbidden:
    """Keystone's InvalidDomainConfig, a 403."""
    return Forbidden(f"Invalid domain specific configuration: {reason}")


def _check_group(group: str) -> None:
    if group not in GROUPS:
        raise _invalid(f"Group {group} is not supported for domain specific configurations")


def _check_option(group: str, option: str) -> None:
    _check_group(group)
    if option not in DEFAULTS[group] and option not in SENSITIVE[group]:
        raise _invalid(f"Option {option} in group {group} is not supported for domain specific configurations")


def _check_config(config: Any) -> None:
    """:raises Forbidden: not ``{group: {option: value}}``, empty, or an unknown group or option
    (Keystone's InvalidDomainConfig is a 403)."""
    if not isinstance(config, dict) or not config:
        raise _invalid("No options specified")
    for group, options in config.items():
        _check_group(group)
        if not isinstance(options, dict) or not options:
            raise _invalid(f"The value of group {group} specified in the config should be a dictionary of options")
        for option in options:
            _check_option(group, option)


def _not_found(domain_id: str, group: str | None = None, option: str | None = None) -> NotFound:
    what = (f"option {option} in group {group}" if option else f"group {group}" if group else "any options")
    return NotFound(f"Could not find {what} in domain configuration for domain {domain_id}.")


def _record(session: Session, domain_id: str) -> DomainConfig | None:
    core_domains.get(session, domain_id)
    return session.get(DomainConfig, domain_id)


def _split(config: Config) -> tuple[Config, Config]:
    """(whitelisted, sensitive) options of a validated config."""
    shown: Config = {}
    hidden: Config = {}
    for group, options in config.items():
        for option, value in options.items():
            bucket = hidden if option in SENSITIVE[group] else shown
            bucket.setdefault(group, {})[option] = value
    return shown, hidden


def _merge(base: Config, extra: Config) -> Config:
    merged = copy.deepcopy(base)
    for group, options in extra.items():
        merged.setdefault(group, {}).update(options)
    return merged


def _save(session: Session, domain_id: str, record: DomainConfig | None, shown: Config, hidden: Config) -> Config:
    shown = {g: o for g, o in shown.items() if o}
    hidden = {g: o for g, o in hidden.items() if o}
    if record is None:
        record = DomainConfig(domain_id=domain_id)
        session.add(record)
    record.config, record.sensitive = shown, hidden
    session.flush()
    return copy.deepcopy(shown)


def create(session: Session, domain_id: str, config: Any) -> tuple[Config, bool]:
    """Replace the domain's whole config. Returns (the config shown, whether it was new).

    :raises NotFound: unknown domain. :raises Forbidden: a malformed config, unsupported group or option.
    """
    record = _record(session, domain_id)
    _check_config(config)
    shown, hidden = _split(config)
    created = record is None or not (record.config or record.sensitive)
    return _save(session, domain_id, record, shown, hidden), created


def get(session: Session, domain_id: str, group: str | None = None, option: str | None = None) -> Any:
    """The config, one group of it (``{group: {...}}``) or one option (``{option: value}``).

    :raises NotFound: unknown domain, or nothing set there. :raises Forbidden: unsupported group or option.
    """
    if option is not None:
        _check_option(group or "", option)
    elif group is not None:
        _check_group(group)
    record = _record(session, domain_id)
    config: Config = copy.deepcopy(record.config) if record is not None else {}
    if group is None:
        if not config:
            raise _not_found(domain_id)
        return config
    if group not in config:
        raise _not_found(domain_id, group)
    if option is None:
        return {group: config[group]}
    if option not in config[group]:
        raise _not_found(domain_id, group, option)
    return {option: config[group][option]}


def update(session: Session, domain_id: str, config: Any, group: str | None = None,
           option: str | None = None) -> Config:
    """Merge ``config`` into the domain's; with ``group`` (and ``option``) the body must name only
    that group (option). Returns the whole config shown.

    :raises NotFound: unknown domain, or the group/option is not set.
    :raises Forbidden: unsupported group or option.
    """
    record = _record(session, domain_id)
    if option is not None:
        _check_option(group or "", option)
        if not isinstance(config, dict) or list(config) != [option]:
            raise _invalid(f"Trying to update option {option} in group {group}, so that, and only that, option "
                          "must be specified  in the config")
        config = {group: config}
    elif group is not None:
        _check_group(group)
        if not isinstance(config, dict) or list(config) != [group]:
            raise _invalid(f"Trying to update group {group}, so that, and only that, group must be specified in "
                          "the config")
    _check_config(config)
    shown, hidden = _split(config)
    current_shown = record.config if record is not None else {}
    current_hidden = record.sensitive if record is not None else {}
    if not current_shown and not current_hidden:
        raise _not_found(domain_id, group, option)
    if group is not None and group not in current_shown and group not in current_hidden:
        raise _not_found(domain_id, group)
    if option is not None and option not in {**current_shown.get(group, {}), **current_hidden.get(group, {})}:
        raise _not_found(domain_id, group, option)
    return _save(session, domain_id, record, _merge(current_shown, shown), _merge(current_hidden, hidden))


def delete(session: Session, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    """Delete the whole config, a group or an option. :raises NotFound: :raises Forbidden:"""
    if option is not None:
        _check_option(group or "", option)
    elif group is not None:
        _check_group(group)
    record = _record(session, domain_id)
    if record is None or not (record.config or record.sensitive):
        raise _not_found(domain_id, group, option)
    shown, hidden = copy.deepcopy(record.config), copy.deepcopy(record.sensitive)
    if group is None:
        session.delete(record)
        return
    if group not in shown and group not in hidden:
        raise _not_found(domain_id, group)
    if option is None:
        shown.pop(group, None)
        hidden.pop(group, None)
    else:
        if option not in shown.get(group, {}) and option not in hidden.get(group, {}):
            raise _not_found(domain_id, group, option)
        shown.get(group, {}).pop(option, None)
        hidden.get(group, {}).pop(option, None)
    _save(session, domain_id, record, shown, hidden)


def defaults(group: str | None = None, option: str | None = None) -> Any:
    """Keystone's defaults for the options a domain may set (sensitive ones left out).

    :raises Forbidden: unsupported group or option.
    """
    if option is not None:
        _check_option(group or "", option)
        if option not in DEFAULTS[group or ""]:
            raise _invalid(f"Reading the default for option {option} in group {group} is not supported")
        return {option: DEFAULTS[group or ""][option]}
    if group is not None:
        _check_group(group)
        return {group: copy.deepcopy(DEFAULTS[group])}
    return copy.deepcopy(DEFAULTS)
